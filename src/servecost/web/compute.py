"""Each endpoint's work: a checked request in, the CLI's output text out (report.py, `--format json`
or `csv`), through the same core calls the CLI commands make. CPU-bound; api.py runs it in a thread."""

from dataclasses import replace
from pathlib import Path

from .. import batch, hardware as hw_cat, models, report, schema
from ..economics import Assumptions
from ..errors import InputError, short, suggest
from ..frontier import as_dict, frontier as run_frontier
from ..outlook import outlook as run_outlook, roster
from ..plan import Scenario, plan as run_plan, precision_for
from ..powercap import power_table
from ..predict import default_parallel, predict as run_predict
from ..profiles import shipped
from ..readers import read_runs
from ..usage import Usage
from ..validate import require_predictions, validate as run_validate
from . import custom
from .inputs import BatchRequest, FrontierRequest, ModelRequest, OutlookRequest, PlanRequest, PowerRequest, \
    PredictRequest
from .limits import MAX_RUNS, cancel_event


def _label(req: ModelRequest) -> str:
    """The model as outputs name it: the catalogue id, or `custom` for a pasted config.json."""
    return req.model if req.config is None else custom.CUSTOM_ID


def _use_chips(req) -> None:
    """The request's own chips (none: none) for the rest of this request; reset on every request, as a
    worker thread keeps its context from one request to the next."""
    hw_cat.use_own(schema.hardware_rows(getattr(req, "chips", []), "chips"))


def plan(req: PlanRequest, fmt: str) -> str:
    """`servecost plan`."""
    _use_chips(req)
    users, load, usage = req.users, req.load, None
    if req.daily_users is not None:
        usage = Usage(req.daily_users, req.sessions_per_day, req.requests_per_session, req.peak_to_mean)
        users, load = usage.peak_streams(req.output_tokens, req.speed), usage.load_frac
    a = req.assumptions(load)
    with custom.model_arg(req.model, req.config) as model:
        sc = Scenario(model=model, users=users, speed_tokens_per_s=req.speed, input_tokens=req.input_tokens,
                      output_tokens=req.output_tokens, hardware=tuple(req.hardware), weight_dtype=req.weight_dtype,
                      expert_dtype=req.expert_dtype, kv_dtype=req.kv_dtype, engine=req.engine,
                      precisions=req.precisions, speculation=req.speculation, disaggregation=req.disaggregation,
                      daily_users=req.daily_users or 0, **_serving_fields(req))
        result = run_plan(sc, a, shipped())
    result.scenario["model"] = _label(req)
    if usage:
        result.scenario["usage"] = usage.as_dict() | {"peak_streams": users}
    if req.monte_carlo:
        _monte_carlo(result, a, req)
    return report.plan_output(result, fmt)


def _serving_fields(req) -> dict:
    """Scenario fields of plan and frontier requests: speculation method, prefix cache, prefill pool, EPLB."""
    return {"speculation_method": req.speculation_method if req.speculation else "none",
            "prefix_cache_hit_frac": req.prefix_cache_hit, "prefix_tokens": req.prefix_tokens,
            "prefill_hardware": req.prefill_hardware.strip(), "expert_rebalancing": req.expert_rebalancing}


def _monte_carlo(result, a: Assumptions, req: PlanRequest) -> None:
    """Each option's $/Mtok as a Monte Carlo summary over prices, power price and load (plan --monte-carlo)."""
    from ..montecarlo import Ranges, summary, usd_per_mtok_samples
    ranges = Ranges(price_frac=tuple(req.price_range), usd_per_kwh=tuple(req.kwh_range),
                    load_frac=tuple(req.load_range))
    schema.validate(schema.MonteCarloInput, samples=req.monte_carlo, load_high=ranges.load_frac[1])
    for o in result.options:
        o["usd_per_mtok_output_mc"] = summary(usd_per_mtok_samples(
            o["cost_breakdown_usd_per_hour"], a.usd_per_kwh, o["demanded_tokens_per_s"],
            ranges, req.monte_carlo))
    result.assumptions["monte_carlo"] = {"samples": req.monte_carlo, **ranges.__dict__}


def frontier(req: FrontierRequest, fmt: str) -> str:
    """`servecost frontier`, with plan's cost assumptions."""
    _use_chips(req)
    a = req.assumptions()
    with custom.model_arg(req.model, req.config) as model:
        sc = Scenario(model=model, input_tokens=req.input_tokens, output_tokens=req.output_tokens,
                      hardware=tuple(req.hardware), engine=req.engine, precisions=req.precisions,
                      speculation=req.speculation, disaggregation=req.disaggregation, **_serving_fields(req))
        curves = run_frontier(sc, a, shipped(), req.speed)
    data = as_dict(curves, replace(sc, model=_label(req)), a, req.speed)
    return report.frontier_output(data, fmt)


def _fleet(req, model: str, **scenario):
    """(model spec, accelerators, scenario) of a request on a list of accelerators."""
    _use_chips(req)
    sc = Scenario(model=model, input_tokens=req.input_tokens, output_tokens=req.output_tokens,
                  hardware=tuple(req.hardware), engine=req.engine, precisions=req.precisions, **scenario)
    hws = hw_cat.select(sc.hardware)
    return models.get(model), hws, sc


def batch_discount(req: BatchRequest, fmt: str) -> str:
    """`servecost batch-discount`."""
    a = Assumptions(pricing=req.pricing, usd_per_kwh=req.usd_per_kwh, pue=req.pue)
    with custom.model_arg(req.model, req.config) as model:
        m, hws, sc = _fleet(req, model, speed_tokens_per_s=req.speed, prefix_cache_hit_frac=req.prefix_cache_hit)
        found, _ = batch.tiers(m, hws, sc, a, shipped(), req.deadline_hours * 3600, req.peak_to_mean)
    return report.batch_output(found, replace(sc, model=_label(req)), a, req.deadline_hours, req.peak_to_mean, fmt)


def power(req: PowerRequest, fmt: str) -> str:
    """`servecost power`."""
    a = Assumptions(pue=req.pue)
    with custom.model_arg(req.model, req.config) as model:
        m, hws, sc = _fleet(req, model)
        table = power_table(m, hws, sc, a, shipped(), req.budget_mw, req.speeds)
    return report.power_output(table, list(req.speeds), req.budget_mw, m.name, fmt)


def outlook(req: OutlookRequest, fmt: str) -> str:
    """`servecost outlook` with the shipped roster."""
    _use_chips(req)
    entries = [y for y in roster() if y.year <= req.years]
    data = run_outlook(entries, req.speed, tuple(req.hardware), Assumptions(lifetime_years=req.lifetime_years),
                       shipped(), req.engine)
    return report.outlook_output(data, fmt)


def predict(req: PredictRequest, fmt: str) -> str:
    """`servecost predict`."""
    _use_chips(req)
    m = custom.spec(req.config) if req.config is not None else models.get(req.model)
    hw = hw_cat.get(req.hardware)
    prec = precision_for(m, Scenario(model=m.id, weight_dtype=req.weight_dtype, expert_dtype=req.expert_dtype,
                                     kv_dtype=req.kv_dtype))
    par = default_parallel(m, hw, prec, req.tp, req.pp, req.ep, req.dp_attn)
    out = run_predict(m, hw, prec, par, req.phase, req.batch, req.context, req.seq, shipped().get(req.engine, hw.id))
    return report.record_output(out, fmt)


def validate(path: Path, hardware: str | None, fmt: str) -> str:
    """`servecost validate FILE`."""
    runs = read_runs(path, hardware)
    if len(runs) > MAX_RUNS:
        raise InputError(f"file={path.name!r}: {len(runs):,} runs; at most {MAX_RUNS:,} per request")
    result = require_predictions(run_validate(runs, shipped()), path.name)
    return report.validate_output(result, fmt)


def catalogue(kind: str, fmt: str) -> str:
    """`servecost models` or `servecost hardware`."""
    return (report.models_output if kind == "models" else report.hardware_output)(fmt)


MAX_SIM_REQUESTS = 50_000      # requests one simulation over HTTP may draw (the CLI has no limit)
MAX_SIM_REPLICAS = 256


def simulate(spec, fmt: str) -> str:
    """`servecost simulate` of a scenario posted as JSON: the summary (`--format json`), or with
    csv one row per request (the `requests.csv` it writes). Paths on the server are refused."""
    import json

    from ..sim import limits as sim_limits
    from ..sim.run import run
    from ..sim.scenario import expected_requests

    w = spec.workload
    if spec.model.strip().lower() not in models.catalogue():
        raise InputError(f"model={short(spec.model)}: over HTTP a simulation takes a catalogue id "
                         f"(GET /api/models){suggest(spec.model[:100], models.catalogue())}")
    if w.trace or any(s.lengths_from for s in w.streams):
        raise InputError("workload.trace / lengths_from: files on the server are not read over HTTP; "
                         "use streams (or the CLI for traces)")
    if spec.fleet.replicas + spec.fleet.prefill_replicas > MAX_SIM_REPLICAS:
        raise InputError(f"fleet.replicas: at most {MAX_SIM_REPLICAS} replicas over HTTP (use the CLI for more)")
    expected = expected_requests(spec)
    if expected > MAX_SIM_REQUESTS:
        raise InputError(f"workload: about {expected:,.0f} requests; at most {MAX_SIM_REQUESTS:,} over HTTP: "
                         "lower rate_per_s or duration_s (or use the CLI)")
    result = run(spec, limits=sim_limits.API, cancel=cancel_event())
    if fmt == "csv":
        return result.requests_frame().to_csv(index=False, float_format="%.6g")
    return json.dumps(result.as_dict(), indent=2)
