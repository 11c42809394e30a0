"""`plan`, `frontier`, `batch-discount`, `power`, `outlook`, `predict`: a model on a fleet of accelerators."""

from typing import Optional

import typer

from .. import report
from ..errors import InputError
from .app import (app, DisaggregationOpt, EngineOpt, ExpertRebalancingOpt, ForceOpt, Format, FormatOpt,
                  HardwareFileOpt, HardwareOpt, InputTokensOpt, ModelOpt, NoSpeculationOpt, OutputTokensOpt,
                  Phase, PrecisionChoice, PrecisionsOpt, PrefillHardwareOpt, PrefixCacheHitOpt, PrefixTokensOpt,
                  Pricing, PricingOpt, ProfileOpt, PueOpt, SpeculationOpt, UsdPerKwhOpt, _is_number, _own_chips,
                  _own_chips_and_chart, _range, _request, _split)


@app.command()
def plan(
    model: ModelOpt = "kimi-k2",
    users: int = typer.Option(1_000_000, help="Concurrent users (streams)."),
    speed: float = typer.Option(50.0, help="Output tokens/s each user must get."),
    input_tokens: Optional[int] = typer.Option(None, help="Prompt tokens per request; default 2000 (a chat turn "
                                                          "with its history) or the --workload's."),
    output_tokens: Optional[int] = typer.Option(None, help="Output tokens per request; default 500 or the --workload's."),
    hardware: HardwareOpt = "",
    weight_dtype: str = typer.Option("", help="Weight dtype (bf16, fp8, nvfp4, mxfp4, int4); default native."),
    expert_dtype: str = typer.Option("", help="Routed-expert dtype; default native (or --weight-dtype)."),
    kv_dtype: str = typer.Option("bf16", help="KV-cache dtype."),
    engine: EngineOpt = "",
    precisions: PrecisionsOpt = PrecisionChoice.native,
    speculation: SpeculationOpt = "auto",
    no_speculation: NoSpeculationOpt = False,
    disaggregation: DisaggregationOpt = True,
    prefill_hardware: PrefillHardwareOpt = "",
    workload: Optional[str] = typer.Option(None, help="Preset lengths and prefix-cache hit rate: chat, agentic, batch "
                                                      "(sourced in servecost.workloads); explicit options override."),
    prefix_cache_hit: Optional[float] = typer.Option(None, help="Share of prompt tokens served from the prefix cache, "
                                                                "0..1 (default 0, or the --workload's)."),
    prefix_tokens: PrefixTokensOpt = 0,
    expert_rebalancing: ExpertRebalancingOpt = True,
    pricing: PricingOpt = Pricing.own,
    lifetime_years: float = typer.Option(3.0, help="Hardware depreciation period."),
    cost_of_capital: float = typer.Option(0.08, help="Annual cost of capital (fraction)."),
    usd_per_kwh: UsdPerKwhOpt = 0.08,
    pue: PueOpt = 1.2,
    load: float = typer.Option(1.0, help="Average load / sized capacity (fraction)."),
    other_opex: float = typer.Option(0.10, help="Other opex per year as a fraction of hardware capex."),
    profile: ProfileOpt = None,
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
    hardware_file: HardwareFileOpt = None,
    force: ForceOpt = False,
    format: FormatOpt = Format.table,
):
    """Cheapest deployment per accelerator that gives every user the speed; sorted by $/Mtok."""
    _own_chips_and_chart(hardware_file, png, force)
    from .. import commands, schema, speculative
    ranges = {}
    if monte_carlo:
        ranges = {"price_range": _range(price_range, "price_range"), "kwh_range": _range(kwh_range, "kwh_range"),
                  "load_range": _range(load_range, "load_range")}
    given = {k: v for k, v in {"input_tokens": input_tokens, "output_tokens": output_tokens,
                               "prefix_cache_hit": prefix_cache_hit, "daily_users": daily_users}.items()
             if v is not None}
    req = _request(schema.PlanRequest, model=model, users=users, speed=speed, workload=workload or None,
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
        from .. import charts
        charts.cost_png(result.as_dict(), png)
    report.emit(report.plan_output(result, format.value), format.value)


@app.command()
def frontier(
    model: ModelOpt = "kimi-k2",
    hardware: HardwareOpt = "",
    input_tokens: InputTokensOpt = 2000,
    output_tokens: OutputTokensOpt = 500,
    speed: Optional[float] = typer.Option(None, help="Mark this tokens/s per user and plan's pick at it."),
    precisions: PrecisionsOpt = PrecisionChoice.all,
    speculation: SpeculationOpt = "auto",
    no_speculation: NoSpeculationOpt = False,
    disaggregation: DisaggregationOpt = True,
    prefill_hardware: PrefillHardwareOpt = "",
    prefix_cache_hit: PrefixCacheHitOpt = 0.0,
    prefix_tokens: PrefixTokensOpt = 0,
    expert_rebalancing: ExpertRebalancingOpt = True,
    engine: EngineOpt = "",
    pricing: PricingOpt = Pricing.own,
    profile: ProfileOpt = None,
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Write the interactive chart (HTML)."),
    png: Optional[str] = typer.Option(None, "--png", help="Write a static chart (PNG)."),
    hardware_file: HardwareFileOpt = None,
    force: ForceOpt = False,
    format: FormatOpt = Format.table,
):
    """Throughput vs interactivity per accelerator: the Pareto frontier of every deployment searched."""
    _own_chips_and_chart(hardware_file, png, force)
    from .. import charts, commands, schema, speculative

    if output:
        schema.output_file(output, "--output", (".html",), force)
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
    model: ModelOpt = "kimi-k2",
    hardware: HardwareOpt = "",
    speed: float = typer.Option(50.0, help="Interactive tier: output tokens/s each user gets."),
    input_tokens: InputTokensOpt = 2000,
    output_tokens: OutputTokensOpt = 500,
    deadline_hours: float = typer.Option(24.0, help="Batch tier: each request done within this many hours."),
    prefix_cache_hit: PrefixCacheHitOpt = 0.0,
    peak_to_mean: float = typer.Option(2.0, help="Interactive load, daily peak / mean (sizes the troughs)."),
    precisions: PrecisionsOpt = PrecisionChoice.native,
    engine: EngineOpt = "",
    pricing: PricingOpt = Pricing.own,
    usd_per_kwh: UsdPerKwhOpt = 0.08,
    pue: PueOpt = 1.2,
    profile: ProfileOpt = None,
    png: Optional[str] = typer.Option(None, "--png", help="Chart of batch cost against deadline (PNG)."),
    hardware_file: HardwareFileOpt = None,
    force: ForceOpt = False,
    format: FormatOpt = Format.table,
):
    """Justified batch discount: batch work with a deadline vs interactive work, per accelerator."""
    _own_chips_and_chart(hardware_file, png, force)
    from .. import commands, schema
    req = _request(schema.BatchRequest, model=model, hardware=list(_split(hardware)), speed=speed,
                   input_tokens=input_tokens, output_tokens=output_tokens, deadline_hours=deadline_hours,
                   prefix_cache_hit=prefix_cache_hit, peak_to_mean=peak_to_mean, precisions=precisions.value,
                   engine=engine.strip().lower(), pricing=pricing.value, usd_per_kwh=usd_per_kwh, pue=pue)
    r = commands.batch_discount(req, commands.profiles_from(profile), curves=bool(png))
    if png:
        from .. import charts
        charts.batch_png(r.curves, commands.DEADLINES_S, f"{r.model_name}: batch cost against deadline", png,
                         r.unserved)
    report.emit(report.batch_output(r.tiers, r.scenario, r.assumptions, r.deadline_hours, r.peak_to_mean,
                                    format.value, r.unserved), format.value)


@app.command()
def power(
    budget_mw: float = typer.Option(100.0, help="Facility power budget, MW (PUE included)."),
    model: ModelOpt = "kimi-k2",
    hardware: HardwareOpt = "",
    speeds: str = typer.Option("10,20,30,50,75,100,150,200,300", help="Output tokens/s per user to tabulate."),
    input_tokens: InputTokensOpt = 2000,
    output_tokens: OutputTokensOpt = 500,
    precisions: PrecisionsOpt = PrecisionChoice.native,
    engine: EngineOpt = "",
    pue: PueOpt = 1.2,
    profile: ProfileOpt = None,
    hardware_file: HardwareFileOpt = None,
    format: FormatOpt = Format.table,
):
    """Users a power budget serves at each speed, per accelerator, and which one serves most."""
    _own_chips(hardware_file)
    from .. import commands, schema

    if not _split(speeds) or not all(_is_number(x) and float(x) > 0 for x in _split(speeds)):
        raise InputError(f"speeds={speeds!r} must be a comma list of positive numbers, e.g. 10,50,100")
    req = _request(schema.PowerRequest, model=model, hardware=list(_split(hardware)), budget_mw=budget_mw,
                   speeds=[float(x) for x in _split(speeds)], input_tokens=input_tokens, output_tokens=output_tokens,
                   precisions=precisions.value, engine=engine.strip().lower(), pue=pue)
    r = commands.power(req, commands.profiles_from(profile))
    report.emit(report.power_output(r.table, r.speeds, r.budget_mw, r.model_name, format.value), format.value)


@app.command()
def outlook(
    years: int = typer.Option(3, help="Years ahead to show (the roster's entries up to this year)."),
    roster: Optional[str] = typer.Option(None, help="Roster YAML of each year's model (default: shipped)."),
    speed: float = typer.Option(50.0, help="Output tokens/s each user gets."),
    hardware: HardwareOpt = "",
    engine: EngineOpt = "",
    lifetime_years: float = typer.Option(3.0, help="Depreciation period (residual value falls over it)."),
    profile: ProfileOpt = None,
    png: Optional[str] = typer.Option(None, "--png", help="Chart of $/Mtok over the years (PNG)."),
    hardware_file: HardwareFileOpt = None,
    force: ForceOpt = False,
    format: FormatOpt = Format.table,
):
    """Will today's hardware serve the coming years' models, and at what cost per token?"""
    _own_chips_and_chart(hardware_file, png, force)
    from .. import commands, schema
    req = _request(schema.OutlookRequest, years=years, speed=speed, hardware=list(_split(hardware)),
                   engine=engine.strip().lower(), lifetime_years=lifetime_years)
    data = commands.outlook(req, commands.profiles_from(profile), roster)
    if png:
        from .. import charts
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
    engine: EngineOpt = "",
    profile: ProfileOpt = None,
    hardware_file: HardwareFileOpt = None,
    format: FormatOpt = Format.table,
):
    """Time of one decode step (step_s) or one prefill (time_s) on one replica."""
    _own_chips(hardware_file)
    from .. import commands, schema

    req = _request(schema.PredictRequest, model=model, hardware=hardware, phase=phase.value, batch=batch,
                   context=context, seq=seq, tp=tp, pp=pp, ep=ep, dp_attn=dp_attn, weight_dtype=weight_dtype,
                   expert_dtype=expert_dtype, kv_dtype=kv_dtype, engine=engine.strip().lower())
    out = commands.predict(req, commands.profiles_from(profile))
    report.emit(report.record_output(out, format.value), format.value)
