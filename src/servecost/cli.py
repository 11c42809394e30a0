"""Command line: a thin wrapper that parses, validates (schema.py), calls the core and prints."""

import sys
from pathlib import Path
from enum import Enum
from typing import Optional

import numpy as np
import typer

from . import report
from .errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=False, pretty_exceptions_enable=False,
                  help="servecost: what it costs to serve an LLM to N users at S tokens/s, on which hardware.")


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class Phase(str, Enum):
    decode = "decode"
    prefill = "prefill"


class PrecisionChoice(str, Enum):
    native = "native"
    all = "all"


class Pricing(str, Enum):
    own = "own"
    cloud = "cloud"


def _request(model_cls, **values):
    """The command's request model (schema.requests) from its options; paths on this machine allowed."""
    from . import schema
    return schema.validate(model_cls, {"cli": True}, **values)


def _range(text: str, field: str) -> tuple[float, float]:
    """'low,high' as two numbers, low <= high."""
    parts = _split(text)
    if len(parts) != 2 or not all(_is_number(p) and np.isfinite(float(p)) for p in parts) \
            or float(parts[0]) > float(parts[1]) or float(parts[0]) < 0:
        raise InputError(f"{field}={text!r} must be 'low,high' with 0 <= low <= high, e.g. 0.8,1.2")
    return float(parts[0]), float(parts[1])


def _own_chips(path: Optional[str]) -> None:
    """Make the chips of a --hardware-file known, beside the catalogue, to this command."""
    if path:
        from . import hardware as hw_cat, schema
        hw_cat.use_own(schema.load_hardware_file(path))
def _split(text: str) -> tuple[str, ...]:
    return tuple(h.strip() for h in text.split(",") if h.strip())


@app.command()
def plan(
    model: str = typer.Option("kimi-k2", help="Catalogue id or path to a Hugging Face config.json."),
    users: int = typer.Option(1_000_000, help="Concurrent users (streams)."),
    speed: float = typer.Option(50.0, help="Output tokens/s each user must get."),
    input_tokens: Optional[int] = typer.Option(None, help="Prompt tokens per request; default 2000 (a chat turn "
                                                          "with its history) or the --workload's."),
    output_tokens: Optional[int] = typer.Option(None, help="Output tokens per request; default 500 or the --workload's."),
    hardware: str = typer.Option("", help="Comma list of hardware ids; default: the whole catalogue."),
    weight_dtype: str = typer.Option("", help="Weight dtype (bf16, fp8, nvfp4, mxfp4, int4); default native."),
    expert_dtype: str = typer.Option("", help="Routed-expert dtype; default native (or --weight-dtype)."),
    kv_dtype: str = typer.Option("bf16", help="KV-cache dtype."),
    engine: str = typer.Option("", help="Serving engine whose calibrated factors apply (trtllm, vllm, sglang); "
                                        "default: the all-engine fit."),
    precisions: PrecisionChoice = typer.Option(PrecisionChoice.native, help="native: the model's (or given) dtypes; "
                                               "all: also fp8 / fp4 / int4 weights and fp8 KV where the chip runs them."),
    speculation: str = typer.Option("auto", help="Speculative decoding searched: auto (none, and MTP with 1 and 3 "
                                                 "drafts where the model ships MTP heads), none, mtp1, mtp3, eagle3."),
    no_speculation: bool = typer.Option(False, "--no-speculation", hidden=True, help="Same as --speculation none."),
    disaggregation: bool = typer.Option(True, help="Search disaggregated prefill/decode pools as well."),
    prefill_hardware: str = typer.Option("", help="Prefill pool on this accelerator (a mixed fleet: e.g. h100-sxm "
                                                  "prefill for groq-lpu decode); disaggregated options only."),
    workload: Optional[str] = typer.Option(None, help="Preset lengths and prefix-cache hit rate: chat, agentic, batch "
                                                      "(sourced in servecost.workloads); explicit options override."),
    prefix_cache_hit: Optional[float] = typer.Option(None, help="Share of prompt tokens served from the prefix cache, "
                                                                "0..1 (default 0, or the --workload's)."),
    prefix_tokens: int = typer.Option(0, help="Cached prefix each conversation keeps in memory between turns "
                                              "(0: hit rate x input tokens)."),
    expert_rebalancing: bool = typer.Option(True, help="Wide expert parallelism rebalances expert load (EPLB); "
                                                       "off: uneven routing slows the busiest rank."),
    pricing: Pricing = typer.Option(Pricing.own, help="own: buy and run the hardware; cloud: rent per chip-hour."),
    lifetime_years: float = typer.Option(3.0, help="Hardware depreciation period."),
    cost_of_capital: float = typer.Option(0.08, help="Annual cost of capital (fraction)."),
    usd_per_kwh: float = typer.Option(0.08, help="Electricity price."),
    pue: float = typer.Option(1.2, help="Facility power / IT power."),
    load: float = typer.Option(1.0, help="Average load / sized capacity (fraction)."),
    other_opex: float = typer.Option(0.10, help="Other opex per year as a fraction of hardware capex."),
    profile: Optional[str] = typer.Option(None, help="Efficiency profile YAML (from `servecost calibrate`)."),
    daily_users: Optional[int] = typer.Option(None, help="Size for daily active users instead of --users: "
                                                         "streams at the daily peak."),
    sessions_per_day: float = typer.Option(3.0, help="With --daily-users: sessions per user per day."),
    requests_per_session: float = typer.Option(5.0, help="With --daily-users: requests (turns) per session."),
    peak_to_mean: float = typer.Option(2.0, help="With --daily-users: daily peak / mean load."),
    png: Optional[str] = typer.Option(None, "--png", help="Chart of the cost breakdown per accelerator (PNG)."),
    monte_carlo: int = typer.Option(0, help="Samples of a Monte Carlo over the uncertain inputs (0: off)."),
    price_range: str = typer.Option("0.8,1.2", help="Monte Carlo: chip price, low,high x the catalogue's."),
    kwh_range: str = typer.Option("0.05,0.12", help="Monte Carlo: electricity $/kWh, low,high."),
    load_range: str = typer.Option("0.6,1.0", help="Monte Carlo: average load / sized capacity, low,high."),
    hardware_file: Optional[str] = typer.Option(None, "--hardware-file", help="Your own chips: YAML or CSV with the "
                                                "catalogue's columns (`servecost hardware --format csv`)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --png file."),
    format: Format = typer.Option(Format.table, "--format", help="Output format."),
):
    """Cheapest deployment per accelerator that gives every user the speed; sorted by $/Mtok."""
    _own_chips(hardware_file)
    from . import commands, schema, speculative

    if png:
        schema.output_file(png, "--png", (".png",), force)
    ranges = {}
    if monte_carlo:
        ranges = {"price_range": _range(price_range, "price_range"), "kwh_range": _range(kwh_range, "kwh_range"),
                  "load_range": _range(load_range, "load_range")}
    given = {k: v for k, v in {"input_tokens": input_tokens, "output_tokens": output_tokens,
                               "prefix_cache_hit": prefix_cache_hit, "daily_users": daily_users}.items()
             if v is not None}
    req = _request(schema.PlanRequest, model=model, users=users, speed=speed, workload=workload,
                   hardware=list(_split(hardware)), weight_dtype=weight_dtype, expert_dtype=expert_dtype,
                   kv_dtype=kv_dtype, engine=engine.strip().lower(), precisions=precisions.value,
                   speculation_method="none" if no_speculation else speculative.check(speculation),
                   disaggregation=disaggregation, prefix_tokens=prefix_tokens,
                   prefill_hardware=prefill_hardware.strip(), expert_rebalancing=expert_rebalancing,
                   sessions_per_day=sessions_per_day, requests_per_session=requests_per_session,
                   peak_to_mean=peak_to_mean, monte_carlo=monte_carlo, pricing=pricing.value,
                   lifetime_years=lifetime_years, cost_of_capital=cost_of_capital, usd_per_kwh=usd_per_kwh, pue=pue,
                   load=load, other_opex=other_opex, **given, **ranges)
    result = commands.plan(req, commands.profiles_from(profile))
    if png:
        from . import charts
        charts.cost_png(result.as_dict(), png)
    report.emit(report.plan_output(result, format.value), format.value)


@app.command()
def frontier(
    model: str = typer.Option("kimi-k2", help="Catalogue id or path to a Hugging Face config.json."),
    hardware: str = typer.Option("", help="Comma list of hardware ids; default: the whole catalogue."),
    input_tokens: int = typer.Option(2000, help="Prompt tokens per request."),
    output_tokens: int = typer.Option(500, help="Output tokens per request."),
    speed: Optional[float] = typer.Option(None, help="Mark this tokens/s per user and plan's pick at it."),
    precisions: PrecisionChoice = typer.Option(PrecisionChoice.all, help="native, or all (fp8 / fp4 / int4, fp8 KV)."),
    speculation: str = typer.Option("auto", help="Speculative decoding searched: auto, none, mtp1, mtp3, eagle3."),
    no_speculation: bool = typer.Option(False, "--no-speculation", hidden=True, help="Same as --speculation none."),
    disaggregation: bool = typer.Option(True, help="Search disaggregated prefill/decode pools as well."),
    prefill_hardware: str = typer.Option("", help="Prefill pool on this accelerator (a mixed fleet)."),
    prefix_cache_hit: float = typer.Option(0.0, help="Share of prompt tokens served from the prefix cache, 0..1."),
    prefix_tokens: int = typer.Option(0, help="Cached prefix kept per conversation (0: hit rate x input tokens)."),
    expert_rebalancing: bool = typer.Option(True, help="Wide expert parallelism rebalances expert load (EPLB)."),
    engine: str = typer.Option("", help="Serving engine whose calibrated factors apply."),
    pricing: Pricing = typer.Option(Pricing.own, help="own or cloud."),
    profile: Optional[str] = typer.Option(None, help="Efficiency profile YAML."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Write the interactive chart (HTML)."),
    png: Optional[str] = typer.Option(None, "--png", help="Write a static chart (PNG)."),
    hardware_file: Optional[str] = typer.Option(None, "--hardware-file", help="Your own chips: YAML or CSV with the "
                                                "catalogue's columns (`servecost hardware --format csv`)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing -o / --png files."),
    format: Format = typer.Option(Format.table, "--format", help="Output format of the points."),
):
    """Throughput vs interactivity per accelerator: the Pareto frontier of every deployment searched."""
    _own_chips(hardware_file)
    from . import charts, commands, schema, speculative

    if output:
        schema.output_file(output, "--output", (".html",), force)
    if png:
        schema.output_file(png, "--png", (".png",), force)
    req = _request(schema.FrontierRequest, model=model, hardware=list(_split(hardware)), input_tokens=input_tokens,
                   output_tokens=output_tokens, speed=speed, precisions=precisions.value,
                   speculation_method="none" if no_speculation else speculative.check(speculation),
                   disaggregation=disaggregation, prefill_hardware=prefill_hardware.strip(),
                   prefix_cache_hit=prefix_cache_hit, prefix_tokens=prefix_tokens,
                   expert_rebalancing=expert_rebalancing, engine=engine.strip().lower(), pricing=pricing.value)
    result = commands.frontier(req, commands.profiles_from(profile))
    if output:
        charts.html(result.curves, result.title, output, speed)
    if png:
        charts.png(result.curves, result.title, png, speed)
    report.emit(report.frontier_output(result.as_dict(), format.value), format.value)


@app.command("batch-discount")
def batch_discount(
    model: str = typer.Option("kimi-k2", help="Catalogue id or path to a Hugging Face config.json."),
    hardware: str = typer.Option("", help="Comma list of hardware ids; default: the whole catalogue."),
    speed: float = typer.Option(50.0, help="Interactive tier: output tokens/s each user gets."),
    input_tokens: int = typer.Option(2000, help="Prompt tokens per request."),
    output_tokens: int = typer.Option(500, help="Output tokens per request."),
    deadline_hours: float = typer.Option(24.0, help="Batch tier: each request done within this many hours."),
    prefix_cache_hit: float = typer.Option(0.0, help="Share of prompt tokens served from the prefix cache, 0..1."),
    peak_to_mean: float = typer.Option(2.0, help="Interactive load, daily peak / mean (sizes the troughs)."),
    precisions: PrecisionChoice = typer.Option(PrecisionChoice.native, help="native or all."),
    engine: str = typer.Option("", help="Serving engine whose calibrated factors apply."),
    pricing: Pricing = typer.Option(Pricing.own, help="own or cloud."),
    usd_per_kwh: float = typer.Option(0.08, help="Electricity price."),
    pue: float = typer.Option(1.2, help="Facility power / IT power."),
    profile: Optional[str] = typer.Option(None, help="Efficiency profile YAML."),
    png: Optional[str] = typer.Option(None, "--png", help="Chart of batch cost against deadline (PNG)."),
    hardware_file: Optional[str] = typer.Option(None, "--hardware-file", help="Your own chips: YAML or CSV with the "
                                                "catalogue's columns (`servecost hardware --format csv`)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --png file."),
    format: Format = typer.Option(Format.table, "--format", help="Output format."),
):
    """Justified batch discount: batch work with a deadline vs interactive work, per accelerator."""
    _own_chips(hardware_file)
    from . import commands, schema

    if png:
        schema.output_file(png, "--png", (".png",), force)
    req = _request(schema.BatchRequest, model=model, hardware=list(_split(hardware)), speed=speed,
                   input_tokens=input_tokens, output_tokens=output_tokens, deadline_hours=deadline_hours,
                   prefix_cache_hit=prefix_cache_hit, peak_to_mean=peak_to_mean, precisions=precisions.value,
                   engine=engine.strip().lower(), pricing=pricing.value, usd_per_kwh=usd_per_kwh, pue=pue)
    r = commands.batch_discount(req, commands.profiles_from(profile), curves=bool(png))
    if png:
        from . import charts
        charts.batch_png(r.curves, commands.DEADLINES_S, f"{r.model_name}: batch cost against deadline", png)
    report.emit(report.batch_output(r.tiers, r.scenario, r.assumptions, r.deadline_hours, r.peak_to_mean,
                                    format.value), format.value)


@app.command()
def power(
    budget_mw: float = typer.Option(100.0, help="Facility power budget, MW (PUE included)."),
    model: str = typer.Option("kimi-k2", help="Catalogue id or path to a Hugging Face config.json."),
    hardware: str = typer.Option("", help="Comma list of hardware ids; default: the whole catalogue."),
    speeds: str = typer.Option("10,20,30,50,75,100,150,200,300", help="Output tokens/s per user to tabulate."),
    input_tokens: int = typer.Option(2000, help="Prompt tokens per request."),
    output_tokens: int = typer.Option(500, help="Output tokens per request."),
    precisions: PrecisionChoice = typer.Option(PrecisionChoice.native, help="native or all."),
    engine: str = typer.Option("", help="Serving engine whose calibrated factors apply."),
    pue: float = typer.Option(1.2, help="Facility power / IT power."),
    profile: Optional[str] = typer.Option(None, help="Efficiency profile YAML."),
    hardware_file: Optional[str] = typer.Option(None, "--hardware-file", help="Your own chips: YAML or CSV with the "
                                                "catalogue's columns (`servecost hardware --format csv`)."),
    format: Format = typer.Option(Format.table, "--format", help="Output format."),
):
    """Users a power budget serves at each speed, per accelerator, and which one serves most."""
    _own_chips(hardware_file)
    from . import commands, schema

    if not _split(speeds) or not all(_is_number(x) and float(x) > 0 for x in _split(speeds)):
        raise InputError(f"speeds={speeds!r} must be a comma list of positive numbers, e.g. 10,50,100")
    req = _request(schema.PowerRequest, model=model, hardware=list(_split(hardware)), budget_mw=budget_mw,
                   speeds=[float(x) for x in _split(speeds)], input_tokens=input_tokens, output_tokens=output_tokens,
                   precisions=precisions.value, engine=engine.strip().lower(), pue=pue)
    r = commands.power(req, commands.profiles_from(profile))
    report.emit(report.power_output(r.table, r.speeds, r.budget_mw, r.model_name, format.value), format.value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@app.command()
def outlook(
    years: int = typer.Option(3, help="Years ahead to show (the roster's entries up to this year)."),
    roster: Optional[str] = typer.Option(None, help="Roster YAML of each year's model (default: shipped)."),
    speed: float = typer.Option(50.0, help="Output tokens/s each user gets."),
    hardware: str = typer.Option("", help="Comma list of hardware ids; default: the whole catalogue."),
    engine: str = typer.Option("", help="Serving engine whose calibrated factors apply."),
    lifetime_years: float = typer.Option(3.0, help="Depreciation period (residual value falls over it)."),
    profile: Optional[str] = typer.Option(None, help="Efficiency profile YAML."),
    png: Optional[str] = typer.Option(None, "--png", help="Chart of $/Mtok over the years (PNG)."),
    hardware_file: Optional[str] = typer.Option(None, "--hardware-file", help="Your own chips: YAML or CSV with the "
                                                "catalogue's columns (`servecost hardware --format csv`)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --png file."),
    format: Format = typer.Option(Format.table, "--format", help="Output format."),
):
    """Will today's hardware serve the coming years' models, and at what cost per token?"""
    _own_chips(hardware_file)
    from . import commands, schema

    if png:
        schema.output_file(png, "--png", (".png",), force)
    req = _request(schema.OutlookRequest, years=years, speed=speed, hardware=list(_split(hardware)),
                   engine=engine.strip().lower(), lifetime_years=lifetime_years)
    data = commands.outlook(req, commands.profiles_from(profile), roster)
    if png:
        from . import charts
        charts.outlook_png(data, png)
    report.emit(report.outlook_output(data, format.value), format.value)


@app.command()
def predict(
    model: str = typer.Option(..., help="Catalogue id or path to a Hugging Face config.json."),
    hardware: str = typer.Option(..., help="Hardware id."),
    phase: Phase = typer.Option(Phase.decode, help="decode or prefill."),
    batch: float = typer.Option(1.0, help="Sequences in the step."),
    context: int = typer.Option(1024, help="Decode: tokens already in each sequence's context."),
    seq: int = typer.Option(1024, help="Prefill: prompt tokens per sequence."),
    tp: Optional[int] = typer.Option(None, help="Attention tensor parallel degree (default: fewest chips that fit)."),
    pp: Optional[int] = typer.Option(None, help="Pipeline stages."),
    ep: Optional[int] = typer.Option(None, help="Expert parallel degree (MoE)."),
    dp_attn: Optional[int] = typer.Option(None, help="Attention data-parallel degree."),
    weight_dtype: str = typer.Option("", help="Weight dtype; default native."),
    expert_dtype: str = typer.Option("", help="Routed-expert dtype; default native (or --weight-dtype)."),
    kv_dtype: str = typer.Option("bf16", help="KV-cache dtype."),
    engine: str = typer.Option("", help="Serving engine whose calibrated factors apply (trtllm, vllm, sglang)."),
    profile: Optional[str] = typer.Option(None, help="Efficiency profile YAML."),
    hardware_file: Optional[str] = typer.Option(None, "--hardware-file", help="Your own chips: YAML or CSV with the "
                                                "catalogue's columns (`servecost hardware --format csv`)."),
    format: Format = typer.Option(Format.table, "--format", help="Output format."),
):
    """Time of one decode step (step_s) or one prefill (time_s) on one replica."""
    _own_chips(hardware_file)
    from . import commands, schema

    req = _request(schema.PredictRequest, model=model, hardware=hardware, phase=phase.value, batch=batch,
                   context=context, seq=seq, tp=tp, pp=pp, ep=ep, dp_attn=dp_attn, weight_dtype=weight_dtype,
                   expert_dtype=expert_dtype, kv_dtype=kv_dtype, engine=engine.strip().lower())
    out = commands.predict(req, commands.profiles_from(profile))
    report.emit(report.record_output(out, format.value), format.value)


@app.command()
def validate(
    file: str = typer.Argument(..., help="Measured runs: calibration CSV, runs CSV or `vllm bench serve` JSON."),
    hardware: Optional[str] = typer.Option(None, help="Hardware id for files that name none (vLLM JSON)."),
    profile: Optional[str] = typer.Option(None, help="Efficiency profile YAML."),
    format: Format = typer.Option(Format.table, "--format", help="Output format."),
):
    """Predicted vs measured TTFT and TPOT per run, summarised and grouped; skipped runs with reasons."""
    from . import commands

    result = commands.validate(file, hardware, commands.profiles_from(profile))
    report.emit(report.validate_output(result, format.value), format.value)


@app.command()
def calibrate(
    files: list[str] = typer.Argument(..., help="Measured runs: calibration CSV, runs CSV or vLLM JSON files."),
    hardware: Optional[str] = typer.Option(None, help="Hardware id for files that name none (vLLM JSON)."),
    output: str = typer.Option("profile.yaml", "-o", "--output", help="Profile YAML to write (use with --profile)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing -o file."),
):
    """Fit the efficiency factors (all engines, then per engine) to measured TTFT and TPOT by least
    squares on log error, and write a profile YAML."""
    from . import commands, profiles
    from .calibration.calibrate import fit_profiles
    from .schema import output_file
    from .calibration.validate import validate as run_validate

    output_file(output, "--output", (".yaml", ".yml"), force)
    runs = [run for f in files for run in commands.read_runs(f, hardware)]
    from datetime import date

    from . import __version__
    meta = {"format": 1, "servecost": __version__, "fitted": date.today().isoformat(),
            "fitted_on": [Path(f).name for f in files], "runs": len(runs),
            "method": "scipy least_squares, soft-L1, on log(predicted/measured) TTFT and TPOT; "
                      "default on the NVIDIA runs, then one set per engine; other vendors' generations: "
                      "kernel factors on TPOT (servecost.calibration.calibrate)"}
    fitted = fit_profiles(runs, meta=meta)
    profiles.write(fitted, output)
    summary = run_validate(runs, fitted)["summary"]
    rows = {f"{metric} median APE (in-sample)": f"{s['median_ape']:.1%}" for metric, s in summary.items()}
    report.emit(report.record_output({"profile": output, "groups": ", ".join(fitted.groups) or "-"} | rows,
                                     "table"), "table")


@app.command()
def measure(
    model: str = typer.Option("llama-3.1-8b", help="A dense Llama-shaped model whose layer shapes are timed."),
    hardware: Optional[str] = typer.Option(None, help="Catalogue id of the local chip: turns the measurements "
                                                      "into efficiency factors."),
    seconds: float = typer.Option(60.0, help="Time budget for the whole benchmark."),
    backend: str = typer.Option("auto", help="auto (torch if installed, else numpy), torch or numpy."),
    output: str = typer.Option("measured-profile.yaml", "-o", "--output", help="Profile YAML to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing -o file."),
):
    """One-minute microbenchmark of the local accelerator (copy, GEMM, decode step, prefill) -> profile."""
    from . import hardware as hw_cat, models, profiles
    from .calibration import measure as bench
    from .schema import MeasureInput, output_file, validate

    validate(MeasureInput, seconds=seconds, backend=backend)
    output_file(output, "--output", (".yaml", ".yml"), force)
    m = models.get(model)
    bench.llama_stack(m, 1)   # dense Llama-shaped models only: InputError otherwise
    hw = hw_cat.get(hardware) if hardware else None
    be = bench.backend(backend)
    settings = bench.Settings.for_backend(be, seconds)
    dtype = "bf16" if "bf16" in be.dtypes and be.on_gpu else "fp32"
    measured = bench.run(m, be, settings, dtype)
    shipped = profiles.shipped()
    rows = {"backend": f"{be.name} on {be.device}", "copy GB/s": measured["copy_bytes_per_s"] / 1e9}
    rows |= {f"GEMM {dt} TFLOP/s": v / 1e12 for dt, v in measured["gemm_flops_per_s"].items()}
    rows |= {"decode step ms": measured["decode"]["step_s"] * 1e3, "prefill ms": measured["prefill"]["time_s"] * 1e3}
    default = shipped.default
    if hw:
        default = bench.fit_factors(measured, m, hw, shipped.default)
        errors = bench.predict_errors(measured, m, hw, {"shipped": shipped.default, "measured": default})
        rows |= {"mem_bw_frac": default.mem_bw_frac, "gemm_flops_frac": default.gemm_flops_frac,
                 "layer_overhead_s": default.layer_overhead_s}
        rows |= {f"{name} profile: {k}": f"{v:+.1%}".replace("-0.0%", "+0.0%") for name, e in errors.items()
                 for k, v in e.items()}
        measured["predict_errors"] = errors
    out = profiles.Profiles(default=default, groups={}, meta={"format": 1, "measured": measured,
                                                             "hardware": hardware or "(not given)"})
    profiles.write(out, output)
    report.emit(report.record_output(rows | {"profile": output}, "table"), "table")


@app.command()
def simulate(
    scenario: str = typer.Argument(..., help="Scenario YAML (see examples/)."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Folder for summary.json, requests.csv, "
                                                                      "timeseries.csv and charts."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default: the scenario's)."),
    max_events: float = typer.Option(2e9, help="Refuse a run estimated at more events than this."),
    max_memory_gb: float = typer.Option(8.0, help="Refuse a run estimated to take more memory than this."),
    force: bool = typer.Option(False, "--force", help="Write into an -o folder that already holds files."),
    format: Format = typer.Option(Format.table, "--format", help="Output format (table or json)."),
):
    """Discrete-event simulation of a serving fleet: latency percentiles per class, goodput, queues, energy."""
    from pathlib import Path as _Path

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from . import schema
    from .sim import output as sim_output, scenario as sim_scenario
    from .sim.run import run

    limits = schema.sim_limits(max_events, max_memory_gb, seed)
    if output:
        schema.output_folder(output, "output", force)
    spec = sim_scenario.load(scenario)
    built = sim_scenario.build(spec, _Path(scenario).parent, seed, limits)
    n = len(built.requests)
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} arrivals"),
                  TimeRemainingColumn(), transient=True, disable=n < 100_000 or not sys.stderr.isatty(),
                  console=None) as bar:
        task = bar.add_task("sim", total=n)
        result = run(spec, built=built, seed=seed, progress=lambda i: bar.update(task, completed=i), limits=limits)
    files = sim_output.write(result, output) if output else []
    if format == Format.json:
        import json
        report.emit(json.dumps(result.as_dict() | {"files": files}, indent=2), "json")
    else:
        report.emit(sim_output.table(result.summary), "table")
        if files:
            report.emit("wrote " + ", ".join(files), "table")
    if result.summary.overload:
        print(f"warning: {result.summary.overload}", file=sys.stderr)


SWEEP_COLUMNS = {"offered_load_frac": "load", "interactive_ttft_p99_s": "int. TTFT p99 s",
                 "interactive_tpot_p99_s": "int. TPOT p99 s", "interactive_met_target_frac": "int. met SLO",
                 "batch_output_tokens": "batch tokens", "batch_deadline_misses": "batch misses",
                 "output_tokens_per_s": "output tok/s", "preemptions": "preempted",
                 "energy_j_per_output_token": "J/token", "usd_per_mtok_output": "$/Mtok",
                 "overloaded": "overloaded"}


@app.command()
def sweep(
    sweep_file: str = typer.Argument(..., metavar="SWEEP", help="Sweep YAML: scenario, grid of dotted keys, seeds."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Write the table (.csv or .json)."),
    ray: Optional[str] = typer.Option(None, "--ray", envvar="RAY_ADDRESS",
                                      help="Ray cluster address ('local' starts one); default: a local process pool."),
    workers: Optional[int] = typer.Option(None, help="Processes of the local pool (default: all cores)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing -o file."),
    format: Format = typer.Option(Format.table, "--format", help="Output format."),
):
    """Many scenarios x seeds through the simulator, on a process pool or Ray; one table of results."""
    import json

    import pandas as pd
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from . import schema
    from .sim.sweep import sweep as run_sweep

    schema.validate(schema.SweepInput, workers=workers)
    if output:
        schema.output_file(output, "--output", (".csv", ".json"), force)

    with Progress(TextColumn("sweep"), BarColumn(), TextColumn("{task.completed}/{task.total} runs"),
                  TimeElapsedColumn(), transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("sweep", total=None)
        rows = run_sweep(sweep_file, ray, workers, lambda done, total: bar.update(task, completed=done, total=total))
    frame = pd.DataFrame(rows)
    if output:
        (frame.to_json(output, orient="records", indent=2) if output.endswith(".json")
         else frame.to_csv(output, index=False, float_format="%.6g"))
    if format == Format.json:
        report.emit(json.dumps(rows, indent=2, default=float), "json")
    elif format == Format.csv:
        report.emit(frame.to_csv(index=False, float_format="%.6g"), "csv")
    else:
        keys = [c for c in frame.columns if "." in c or c == "seed"]
        shown = keys + [c for c in SWEEP_COLUMNS if c in frame.columns]
        report.emit(report.frame_table(frame[shown].rename(columns=SWEEP_COLUMNS),
                                       f"sweep: {len(rows)} runs" + (f" -> {output} (all columns)" if output else "")),
                    "table")


@app.command("models")
def list_models(format: Format = typer.Option(Format.table, "--format", help="Output format.")):
    """The model catalogue: parameters, dtypes, KV per token, sources."""
    report.emit(report.models_output(format.value), format.value)


@app.command("hardware")
def list_hardware(format: Format = typer.Option(Format.table, "--format", help="Output format.")):
    """The hardware catalogue: FLOP/s, memory, links, power, price, sources."""
    report.emit(report.hardware_output(format.value), format.value)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Server processes (each computes one request per CPU at a time)."),
):
    """The web explorer at / and the HTTP API under /api (OpenAPI at /docs);
    needs the web extra: pip install 'servecost\\[web]'."""
    from . import schema
    schema.validate(schema.ServeInput, port=port, workers=workers)
    try:
        from .web.app import serve as run_server
    except ImportError as exc:
        raise InputError(f"serve needs the web extra ({exc.name} is missing): pip install 'servecost[web]'") from None
    run_server(host, port, workers)


def _usage_error(exc: Exception) -> bool:
    """A command-line usage error (click's UsageError, vendored or not): exit code 2, one message."""
    return hasattr(exc, "format_message") and getattr(exc, "exit_code", None) == 2


MAX_ERROR_CHARS = 400    # an error line quotes the input, never all of it


def one_line(text: str) -> str:
    """`text` on one line of at most MAX_ERROR_CHARS characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS - 3] + "..."


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input prints one line `error: ...` and exits 2, without a traceback."""
    from . import hardware
    hardware.use_own([])    # your own chips are a command's (--hardware-file), never left from an earlier one
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="servecost", standalone_mode=False)
    except InputError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if not _usage_error(exc):
            raise
        print(f"error: {one_line(exc.format_message())}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
