"""A checked scenario (schema.ScenarioIn) -> requests, step table and fleet configuration (Built):
resolve the model, accelerator and factors; draw the requests; pick the deployment and size its KV
cache; check the work fits the limits; tabulate step times; estimate the fleet's capacity.
"""

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import hardware, memory, models, serving
from ..errors import InputError
from ..parallel import Parallel, check
from ..profiles import ENGINES, shipped
from ..roofline import Precision
from ..serving import aggregated
from ..speculative import EAGLE3, Speculation
from . import limits as sim_limits, steptime, workload
from .engine import Config
from .limits import Limits
from .schema import ScenarioIn, StreamIn, WorkloadIn, apply, load, parse, read  # noqa: F401 (parse/load/... for callers)
from .summary import DeploymentSummary


@dataclass
class Built:
    """Everything one simulation run needs."""
    spec: ScenarioIn
    requests: workload.Requests
    table: steptime.StepTable
    config: Config
    deployment: DeploymentSummary
    offered_load_frac: float          # offered requests/s over the analytical capacity of the fleet
    request_overhead_s: float         # HTTP, tokenisation, scheduling before a request reaches a replica
    prefill_table: steptime.StepTable | None = None   # mixed fleet: the prefill replicas' own steps
    estimated_events: float = math.inf  # sim.limits.estimate: the run stops at OVERRUN x this many


def _resolve_path(p: str, base: Path) -> str:
    return str(p if not p or Path(p).is_absolute() else base / p)


def _count(s: StreamIn, w: WorkloadIn) -> int:
    """Requests a stream draws: its `count`, in a closed loop 10 per client by default; 0 means all that
    arrive within duration_s."""
    return s.count or (10 * w.clients // len(w.streams) if w.clients else 0)


def expected_requests(spec: ScenarioIn) -> float:
    """About how many requests the scenario's streams draw (a trace adds its own rows)."""
    return sum(_count(s, spec.workload) or s.rate_per_s * spec.duration_s for s in spec.workload.streams)


def _streams(w: WorkloadIn, base: Path) -> list[workload.Stream]:
    out = []
    for s in w.streams:
        closed = w.clients > 0        # a closed loop sets the arrival times itself: draw `count` requests
        out.append(workload.Stream(
            klass=workload.BATCH if s.klass == "batch" else workload.INTERACTIVE, arrival=s.arrival,
            rate_per_s=(s.rate_per_s or 1.0) if closed else s.rate_per_s, cv=s.cv, peak_to_mean=s.peak_to_mean, peak_hour=s.peak_hour, day_s=s.day_s,
            input_tokens=s.input_tokens, input_spread=s.input_spread, output_tokens=s.output_tokens,
            output_spread=s.output_spread, lengths_from=_resolve_path(s.lengths_from, base),
            prefix_cache_hit=s.prefix_cache_hit,
            deadline_s=s.deadline_s if s.klass == "batch" else float("inf"), count=_count(s, w)))
    return out


def _deployment(spec: ScenarioIn, m, hw, prec, eff, mean_in: float, mean_out: float) -> tuple[Parallel, int]:
    """The given parallelism, or plan's cheapest aggregated deployment at the scenario's speed."""
    if spec.deployment is not None:
        d = spec.deployment
        return check(m, Parallel(tp=d.tp, pp=d.pp, ep=d.ep, dp_attn=d.dp_attn)), 0
    from ..economics import Assumptions
    from ..plan import Scenario, plan_one
    sc = Scenario(model=spec.model, users=1_000_000, speed_tokens_per_s=spec.speed, input_tokens=max(int(mean_in), 1),
                  output_tokens=max(int(mean_out), 1), hardware=(hw.id,), weight_dtype=prec.weight,
                  expert_dtype=prec.expert, kv_dtype=prec.kv, engine=spec.engine,
                  speculation=bool(spec.speculation.draft_tokens),
                  disaggregation=False)
    option, why = plan_one(m, hw, sc, Assumptions(), eff)
    if option is None:
        raise InputError(f"deployment: none given and {why.reason}; give deployment: {{tp: ...}} or a lower speed")
    return option.deployment.parallel, option.deployment.batch_per_replica


def _closed_loop(req: workload.Requests, w: WorkloadIn) -> workload.Requests:
    """Closed-loop requests: lengths as drawn, the first `clients` starting over `ramp_s`, the others
    sent as earlier ones end (their arrival times are set by the simulation)."""
    c = min(w.clients, len(req))
    start = np.concatenate([np.linspace(0.0, w.ramp_s, c, endpoint=False), np.full(len(req) - c, 1e18)])
    return dataclasses.replace(req, arrival_s=start, deadline_s=np.full(len(req), np.inf))


def _fits_kv(req: workload.Requests, kv_tokens: int, tokens_per_step: float, trace: str) -> None:
    """Every request must fit one replica's KV cache alone, else the replica recomputes it forever."""
    need = req.input_tokens + req.output_tokens + math.ceil(tokens_per_step)
    worst = int(np.argmax(need))
    if need[worst] > kv_tokens:
        where = workload.where(int(req.source[worst]), f"trace {Path(trace).name}")
        raise InputError(f"{where}: a request of {int(req.input_tokens[worst]):,} prompt + "
                         f"{int(req.output_tokens[worst]):,} output tokens does not fit a replica's KV cache of "
                         f"{kv_tokens:,} tokens; lower input_tokens / output_tokens (or their spread), or give "
                         "more memory per replica (deployment tp/pp, kv_dtype: fp8, fleet.kv_tokens)")


def _check_expected(spec: ScenarioIn, limits: Limits) -> None:
    """Bound the requests before they are drawn: a rate of 1e9/s over a day would not fit in memory."""
    n = expected_requests(spec)
    sim_limits.check(sim_limits.Estimate(4.0 * n, sim_limits.REQUEST_BYTES * n), limits)



def _resolve(spec: ScenarioIn) -> tuple:
    """(model, accelerator, engine name, precision, calibrated factors) the scenario names."""
    m = models.get(spec.model)
    hw = hardware.get(spec.hardware)
    engine = spec.engine.strip().lower()
    if engine and engine not in ENGINES:
        raise InputError(f"engine={spec.engine!r} is not known; use one of {', '.join(ENGINES)} or leave it empty")
    prec = Precision.resolve(m, spec.weight_dtype, spec.expert_dtype, spec.kv_dtype)
    return m, hw, engine, prec, shipped().get(engine or None, hw.id)


def _requests(spec: ScenarioIn, base: Path, seed: int | None, limits: Limits) -> workload.Requests:
    """The streams' requests drawn for `seed` (default the scenario's) and the trace's, in arrival order."""
    w = spec.workload
    if not w.streams and not w.trace:
        raise InputError("workload: give streams (a list) or trace (a CSV path), or both")
    if w.clients and w.trace:
        raise InputError("workload.clients: a closed loop draws its requests from streams; a trace replays its "
                         "own arrival times; give one or the other")
    _check_expected(spec, limits)
    parts = [workload.generate(_streams(w, base), spec.duration_s, spec.seed if seed is None else seed)] \
        if w.streams else []
    if w.trace:
        parts.append(workload.read_trace(_resolve_path(w.trace, base)))
    req = workload.Requests.merge(parts)
    if w.clients:
        req = _closed_loop(req, w)
    if not len(req):
        raise InputError("workload: no request arrives within duration_s; raise rate_per_s or duration_s")
    return req


def _speculation(spec: ScenarioIn, m) -> Speculation:
    """The decoding the scenario asks for: plain, the model's MTP heads, or an EAGLE-3 draft head."""
    spec_in = spec.speculation
    if spec_in.draft_tokens and spec_in.method == "mtp" and not m.mtp_layers:
        raise InputError(f"speculation.draft_tokens={spec_in.draft_tokens}: {m.id} ships no MTP heads; use 0, "
                         "or method: eagle3 (a draft head)")
    return (EAGLE3 if spec_in.method == "eagle3" and spec_in.draft_tokens
            else Speculation(spec_in.draft_tokens, spec_in.acceptance_frac))


def _kv_tokens(spec: ScenarioIn, m, hw, par: Parallel, prec, ctx: float) -> int:
    """KV cache tokens per replica: fleet.kv_tokens, or the memory beside the weights over the KV bytes
    per token at the mean context `ctx`."""
    free = float(memory.free_bytes_per_chip(m, hw.mem_bytes, par, prec.weight, prec.expert))
    kv_per_token = float(memory.kv_bytes_per_chip(m, par, 1, ctx, prec.kv)) / ctx
    if free <= 0:
        raise InputError(f"deployment: {m.id} weights do not fit on {int(par.chips)} x {hw.id}; "
                         "raise tp/pp/ep or lower weight_dtype")
    return spec.fleet.kv_tokens or int(free / kv_per_token)


def _config(spec: ScenarioIn, m, hw, prec, eff, par: Parallel, plan_batch: int, kv_tokens: int,
            speculation: Speculation) -> Config:
    """The engine's configuration: batch limit (fleet.max_seqs, plan's batch or 256), token budget per
    replica (per attention-DP rank x ranks), KV capacity, hand-off and closed-loop timing, and the engine's
    admission wait (the profile's admission_steps)."""
    f, w = spec.fleet, spec.workload
    return Config(replicas=f.replicas, prefill_replicas=f.prefill_replicas, max_seqs=f.max_seqs or plan_batch or 256,
                  token_budget=f.token_budget * int(par.dp_attn), kv_tokens=kv_tokens, router=f.router,
                  batch_max_seqs=f.batch_max_seqs, kv_transfer_latency_s=f.kv_transfer_latency_s,
                  tokens_per_step=speculation.tokens_per_step, closed_loop_clients=w.clients,
                  closed_loop_delay_s=eff.ttft_overhead_s, admission_steps=eff.admission_steps,
                  kv_transfer_s_per_token=float(serving.kv_handoff_s(m, prec, 1.0, hw, par.chips, hw, par.chips, eff)))


def _capacity_rps(m, hw, par: Parallel, prec, eff, speculation: Speculation, cfg: Config,
                  table: steptime.StepTable, prefill_table: steptime.StepTable, mean_in: float, mean_out: float,
                  mean_cached: float) -> float:
    """Requests/s the fleet serves in steady state: a disaggregated fleet's slower pool (from the step
    tables), else the aggregated roofline (serving.aggregated) x replicas."""
    if cfg.prefill_replicas:
        ctx = mean_in + mean_out / 2
        prefill_rps = cfg.token_budget / prefill_table.lookup(0, 0.0, cfg.token_budget)[0] / mean_in \
            * cfg.prefill_replicas
        decode_rps = cfg.max_seqs * cfg.tokens_per_step / table.lookup(cfg.max_seqs, ctx, 0.0)[0] / mean_out \
            * cfg.replicas
        return min(prefill_rps, decode_rps)
    from ..prefix import PrefixCache
    cap = aggregated(m, hw, par, prec, cfg.max_seqs, mean_in, mean_out, eff, speculation,
                     PrefixCache(mean_cached / mean_in, 1.0))
    return float(cap.output_tokens_per_s) / mean_out * cfg.replicas


def _deployment_summary(m, hw, engine: str, par: Parallel, prec, speculation: Speculation, cfg: Config,
                        mixed) -> DeploymentSummary:
    """What is simulated, as the summary reports it; a mixed fleet adds its prefill pool's layout."""
    chips = int(par.chips) * (cfg.replicas + cfg.prefill_replicas)
    prefill = {}
    if mixed:
        phw, ppar = mixed[0], mixed[1]
        chips = int(par.chips) * cfg.replicas + int(ppar.chips) * cfg.prefill_replicas
        prefill = dict(prefill_hardware=phw.id, prefill_chips_per_replica=int(ppar.chips), prefill_tp=int(ppar.tp),
                       prefill_dp_attn=int(ppar.dp_attn), prefill_pp=int(ppar.pp), prefill_ep=int(ppar.ep))
    return DeploymentSummary(
        model=m.id, hardware=hw.id, engine=engine or "all", tp=int(par.tp), pp=int(par.pp), ep=int(par.ep),
        dp_attn=int(par.dp_attn), chips_per_replica=int(par.chips), weight_dtype=prec.weight,
        expert_dtype=prec.expert, kv_dtype=prec.kv, draft_tokens=speculation.draft_tokens, max_seqs=cfg.max_seqs,
        token_budget=cfg.token_budget, kv_tokens_per_replica=cfg.kv_tokens, replicas=cfg.replicas,
        prefill_replicas=cfg.prefill_replicas, chips=chips, **prefill)


def _step_tables(spec: ScenarioIn, m, hw, prec, eff, par: Parallel, speculation: Speculation, cfg: Config,
                 req: workload.Requests, limits: Limits):
    """(decode or aggregated step table, mixed prefill pool or None, estimated events), once the
    requests fit the KV cache and the work fits `limits`."""
    _fits_kv(req, cfg.kv_tokens, cfg.tokens_per_step, spec.workload.trace)
    mean_in, mean_cached = float(req.input_tokens.mean()), float(req.cached_tokens.mean())
    max_ctx = float(np.max(req.input_tokens + req.output_tokens))
    est = sim_limits.estimate(req.input_tokens, req.output_tokens, cfg.token_budget, cfg.tokens_per_step,
                              sim_limits.table_entries(cfg.max_seqs, max_ctx, cfg.token_budget))
    sim_limits.check(est, limits)
    table = steptime.build(m, hw, par, prec, eff, cfg.max_seqs, max_ctx, cfg.token_budget, mean_in, speculation,
                           mean_cached)
    mixed = _mixed_prefill(spec, m, prec, eff, mean_in, mean_cached, max_ctx, cfg.token_budget)
    return table, mixed, est.events


def build(spec: ScenarioIn, base: Path = Path("."), seed: int | None = None,
          limits: Limits = sim_limits.CLI) -> Built:
    """Requests, step table and fleet configuration of a parsed scenario, within `limits`."""
    m, hw, engine, prec, eff = _resolve(spec)
    req = _requests(spec, base, seed, limits)
    mean_in, mean_out = float(req.input_tokens.mean()), float(req.output_tokens.mean())
    speculation = _speculation(spec, m)
    par, plan_batch = _deployment(spec, m, hw, prec, eff, mean_in, mean_out)
    kv_tokens = _kv_tokens(spec, m, hw, par, prec, mean_in + mean_out / 2)
    cfg = _config(spec, m, hw, prec, eff, par, plan_batch, kv_tokens, speculation)
    table, mixed, events = _step_tables(spec, m, hw, prec, eff, par, speculation, cfg, req, limits)
    if mixed:   # the KV hand-off over the slower side of the network the two pools share
        cfg.kv_transfer_s_per_token = float(serving.kv_handoff_s(m, prec, 1.0, hw, par.chips, mixed[0],
                                                                 mixed[1].chips, eff))
    capacity_rps = _capacity_rps(m, hw, par, prec, eff, speculation, cfg, table, mixed[2] if mixed else table,
                                 mean_in, mean_out, float(req.cached_tokens.mean()))
    offered_rps = len(req) / max(float(req.arrival_s[-1] - req.arrival_s[0]), 1e-9) if not spec.workload.clients \
        else 0.0
    return Built(spec, req, table, cfg, _deployment_summary(m, hw, engine, par, prec, speculation, cfg, mixed),
                 offered_rps / capacity_rps, eff.ttft_overhead_s, prefill_table=mixed[2] if mixed else None,
                 estimated_events=events)


def _mixed_prefill(spec: ScenarioIn, m, prec, eff_decode, mean_in: float, mean_cached: float, max_ctx: float,
                   token_budget: int):
    """(accelerator, layout, step table) of prefill replicas on fleet.prefill_hardware, or None."""
    f = spec.fleet
    if not f.prefill_hardware:
        return None
    if not f.prefill_replicas:
        raise InputError("fleet.prefill_hardware needs fleet.prefill_replicas > 0 (a disaggregated fleet)")
    phw = hardware.get(f.prefill_hardware, "fleet.prefill_hardware")
    eff = shipped().get(spec.engine.strip().lower() or None, phw.id)
    if f.prefill_deployment is not None:
        d = f.prefill_deployment
        ppar = check(m, Parallel(tp=d.tp, pp=d.pp, ep=d.ep, dp_attn=d.dp_attn))
    else:
        from ..prefix import PrefixCache
        from ..search import prefill_pool
        pool = prefill_pool(m, phw, prec, mean_in, eff, PrefixCache(mean_cached / mean_in))
        if pool is None:
            raise InputError(f"fleet.prefill_hardware={phw.id!r} cannot hold {m.id}; pick a chip with more memory")
        ppar = pool.par
    if memory.free_bytes_per_chip(m, phw.mem_bytes, ppar, prec.weight, prec.expert) <= 0:
        raise InputError(f"fleet.prefill_deployment: {m.id} weights do not fit on {int(ppar.chips)} x {phw.id}")
    table = steptime.build(m, phw, ppar, prec, eff, 1, max_ctx, token_budget, mean_in, mean_cached=mean_cached)
    return phw, ppar, table

