"""One function per command: a checked request in (schema.requests), a typed result out. The CLI
(cli.py) and the HTTP API (web/api.py) both call these and print the result with report.py, so
usage sizing, the Monte Carlo, the profile and your own chips are handled here, once."""

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import hardware, schema

from .studies import batch
from .economics import Assumptions
from .errors import InputError, refuse_special_file
from .frontier import Curve, as_dict as frontier_dict, frontier as run_frontier
from .hardware import Accelerator
from .models import ModelSpec
from .studies.outlook import outlook as run_outlook, roster as load_roster
from .plan import PlanResult, Scenario, plan as run_plan, precision_for
from .studies.powercap import power_table
from .predict import default_parallel, predict as run_predict
from .profiles import Profiles, shipped
from .schema import BatchRequest, FrontierRequest, OutlookRequest, PlanRequest, PowerRequest, PredictRequest
from .studies.usage import Usage

DEADLINES_S = np.geomspace(60, 7 * 24 * 3600, 40)   # batch-discount's cost-against-deadline curve


def profiles_from(path: str | None) -> Profiles:
    """Efficiency profiles: a profile YAML when given (`--profile`), else the fit shipped in the package."""
    from . import profiles
    if not path:
        return shipped()
    refuse_special_file(path, "profile", "the path of the file itself")
    try:
        return profiles.load(path)
    except InputError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"profile={path!r} is not a readable profile YAML ({type(exc).__name__}: "
                         f"{str(exc)[:80]}); give a file written by `servecost calibrate` or `measure`") from None


def _own_chips(req) -> None:
    """The request's own chips (`chips`) beside the catalogue for the rest of this command; none given:
    those the caller made known (the CLI's --hardware-file) stay."""
    if req.chips:
        hardware.use_own(schema.hardware_rows(req.chips, "chips"))


def _scenario(req, m: ModelSpec, **fields) -> Scenario:
    """The core scenario of a fleet request: the model resolved once, named as the request gave it."""
    chips = tuple(hardware.select(tuple(req.hardware)))
    return Scenario(model=req.label, spec=m, input_tokens=req.input_tokens, output_tokens=req.output_tokens,
                    hardware=tuple(req.hardware), accelerators=chips, engine=req.engine, precisions=req.precisions,
                    **fields)


def plan(req: PlanRequest, profiles: Profiles | None = None, progress=None) -> PlanResult:
    """`servecost plan`: sized for the users (or the daily users' peak), with the Monte Carlo when asked."""
    _own_chips(req)
    users, load, usage = req.users, req.load, None
    if req.daily_users is not None:
        usage = Usage(req.daily_users, req.sessions_per_day, req.requests_per_session, req.peak_to_mean)
        users, load = usage.peak_streams(req.output_tokens, req.speed), usage.load_frac
    a = req.assumptions(load)
    sc = _scenario(req, req.spec(), users=users, speed_tokens_per_s=req.speed, weight_dtype=req.weight_dtype,
                   expert_dtype=req.expert_dtype, kv_dtype=req.kv_dtype, daily_users=req.daily_users or 0,
                   **req.serving_fields())
    result = run_plan(sc, a, profiles or shipped(), progress)
    if usage:
        result.scenario["usage"] = usage.as_dict() | {"peak_streams": users}
    if req.monte_carlo:
        _monte_carlo(result, a, req)
    return result


def _monte_carlo(result: PlanResult, a: Assumptions, req: PlanRequest) -> None:
    """Each option's $/Mtok as a Monte Carlo summary over chip prices, power price and load."""
    from .studies.montecarlo import Ranges, summary, usd_per_mtok_samples
    ranges = Ranges(price_frac=tuple(req.price_range), usd_per_kwh=tuple(req.kwh_range),
                    load_frac=tuple(req.load_range))
    result.options = [replace(o, usd_per_mtok_output_mc=summary(usd_per_mtok_samples(
        o.cost_breakdown_usd_per_hour, a.usd_per_kwh, o.demanded_tokens_per_s, ranges, req.monte_carlo)))
        for o in result.options]
    result.assumptions["monte_carlo"] = {"samples": req.monte_carlo, **ranges.__dict__}


@dataclass(frozen=True)
class Frontier:
    """`servecost frontier`'s result: one curve per accelerator, and what it was computed for."""
    curves: list[Curve]
    scenario: Scenario
    assumptions: Assumptions
    speed: float | None
    title: str

    def as_dict(self) -> dict:
        return frontier_dict(self.curves, self.scenario, self.assumptions, self.speed)


def frontier(req: FrontierRequest, profiles: Profiles | None = None) -> Frontier:
    """`servecost frontier`, with plan's cost assumptions."""
    _own_chips(req)
    m = req.spec()
    a = req.assumptions()
    sc = _scenario(req, m, **req.serving_fields())
    curves = run_frontier(sc, a, profiles or shipped(), req.speed)
    title = f"{m.name}: throughput vs interactivity, {req.input_tokens} in / {req.output_tokens} out"
    return Frontier(curves, sc, a, req.speed, title)


@dataclass(frozen=True)
class BatchDiscount:
    """`servecost batch-discount`'s result: each accelerator's batch tier and cost-against-deadline curve."""
    tiers: list[batch.BatchTier]
    curves: dict                      # hardware id -> (dedicated $/Mtok at each of DEADLINES_S, interactive $/Mtok)
    scenario: Scenario
    assumptions: Assumptions
    deadline_hours: float
    peak_to_mean: float
    model_name: str
    unserved: dict = field(default_factory=dict)   # hardware id -> why it has no tier


def _fleet(req, **fields) -> tuple[ModelSpec, list[Accelerator], Scenario]:
    """(model, accelerators, scenario) of a request on a list of accelerators."""
    _own_chips(req)
    m = req.spec()
    sc = _scenario(req, m, **fields)
    return m, sc.chips(), sc


def batch_discount(req: BatchRequest, profiles: Profiles | None = None, curves: bool = False) -> BatchDiscount:
    """`servecost batch-discount`; with `curves`, each accelerator's batch cost against deadline too."""
    m, hws, sc = _fleet(req, speed_tokens_per_s=req.speed, prefix_cache_hit_frac=req.prefix_cache_hit)
    sc.cache   # the prefix cache checked against the prompt before the search
    a = Assumptions(pricing=req.pricing, usd_per_kwh=req.usd_per_kwh, pue=req.pue)
    found, by_hw = batch.tiers(m, hws, sc, a, profiles or shipped(), req.deadline_hours * 3600, req.peak_to_mean,
                               DEADLINES_S if curves else None)
    served = {t.hardware for t in found}
    unserved = {hw.id: f"no deployment serves {sc.speed_tokens_per_s:g} tok/s per user (plan gives its fastest)"
                for hw in hws if hw.id not in served}
    return BatchDiscount(found, by_hw, sc, a, req.deadline_hours, req.peak_to_mean, m.name, unserved)


@dataclass(frozen=True)
class PowerTable:
    """`servecost power`'s result: per accelerator, users served and tokens/s per MW at each speed."""
    table: dict
    speeds: list[float]
    budget_mw: float
    model_name: str


def power(req: PowerRequest, profiles: Profiles | None = None) -> PowerTable:
    """`servecost power`."""
    m, hws, sc = _fleet(req)
    table = power_table(m, hws, sc, Assumptions(pue=req.pue), profiles or shipped(), req.budget_mw, req.speeds)
    return PowerTable(table, list(req.speeds), req.budget_mw, m.name)


def outlook(req: OutlookRequest, profiles: Profiles | None = None, roster_path: str | None = None) -> dict:
    """`servecost outlook` with the shipped roster, or the roster YAML at `roster_path`."""
    _own_chips(req)
    if roster_path:
        refuse_special_file(roster_path, "roster", "the path of the file itself")
    entries = [y for y in _read(load_roster, roster_path, "roster") if y.year <= req.years]
    return run_outlook(entries, req.speed, tuple(req.hardware), Assumptions(lifetime_years=req.lifetime_years),
                       profiles or shipped(), req.engine)


def _read(load, path: str | None, option: str):
    """load(path); a file the loader chokes on (binary, bad values) is one InputError naming it."""
    try:
        return load(path)
    except InputError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"{option}={path!r} could not be read ({type(exc).__name__}: {str(exc)[:80]})") from None


def predict(req: PredictRequest, profiles: Profiles | None = None) -> dict:
    """`servecost predict`: one decode step or prefill on one replica."""
    _own_chips(req)
    m, hw = req.spec(), hardware.get(req.hardware)
    prec = precision_for(m, Scenario(model=req.label, spec=m, weight_dtype=req.weight_dtype,
                                     expert_dtype=req.expert_dtype, kv_dtype=req.kv_dtype))
    par = default_parallel(m, hw, prec, req.tp, req.pp, req.ep, req.dp_attn)
    eff = (profiles or shipped()).get(req.engine, hw)
    return run_predict(m, hw, prec, par, req.phase, req.batch, req.context, req.seq, eff)


def read_runs(path: str | Path, hardware_id: str | None, max_runs: int | None = None) -> list:
    """The runs of a measurement file; a file the readers choke on is the user's: one line naming it."""
    from .calibration.readers import read_runs as read
    name = Path(path).name
    refuse_special_file(path, "file", "the path of the file itself")
    try:
        runs = read(str(path), hardware_id)
    except InputError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError) as exc:
        raise InputError(f"file={name!r} could not be read as runs ({type(exc).__name__}: {str(exc)[:100]}); "
                         "check its values against the README's runs CSV columns") from None
    if max_runs is not None and len(runs) > max_runs:
        raise InputError(f"file={name!r}: {len(runs):,} runs; at most {max_runs:,} per request")
    return runs


def validate(path: str | Path, hardware_id: str | None, profiles: Profiles | None = None,
             max_runs: int | None = None) -> dict:
    """`servecost validate FILE`: predicted against measured TTFT and TPOT per run."""
    from .calibration.validate import require_predictions, validate as run_validate
    runs = read_runs(path, hardware_id, max_runs)
    return require_predictions(run_validate(runs, profiles or shipped()), Path(path).name)
