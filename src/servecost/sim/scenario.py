"""SCENARIO.yaml -> requests, step table and fleet configuration. Bad keys get one line naming the key
and the allowed values.

    model: llama-3.3-70b          # catalogue id or a Hugging Face config.json
    hardware: h100-sxm
    engine: vllm                  # calibrated factors (trtllm | vllm | sglang; empty: all engines)
    weight_dtype: fp8             # optional; default native
    kv_dtype: fp8
    deployment: {tp: 4}           # optional; default: plan's cheapest aggregated deployment at `speed`
    speed: 50                     # tokens/s per user the default deployment must give
    fleet: {replicas: 64, router: least_tokens, max_seqs: 256, token_budget: 8192}
    slo: {ttft_s: 2.0, tpot_s: 0.05}
    duration_s: 3600
    seed: 0
    workload:
      streams:
        - {class: interactive, arrival: poisson, rate_per_s: 400, input_tokens: 1000, output_tokens: 500}
        - {class: batch, arrival: poisson, rate_per_s: 50, deadline_s: 86400}
      trace: requests.csv         # optional: replayed as well
"""

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import hardware, memory, models, serving
from ..errors import InputError, refuse_special_file, short
from ..schema import FIXES
from ..parallel import Parallel, check
from ..profiles import ENGINES, shipped
from ..roofline import Precision
from ..serving import aggregated
from ..speculative import EAGLE3, MTP_ACCEPTANCE_FRAC, Speculation
from . import limits as sim_limits, steptime, workload
from .engine import ROUTERS, Config
from .limits import Limits

KV_TRANSFER_LATENCY_S = 2e-3   # RDMA connection setup and first byte; an estimate
MAX_YAML_BYTES = 1_000_000     # a scenario or sweep file (the examples are under 2 kB)
MAX_YAML_NODES = 100_000       # values once YAML aliases are expanded (an alias bomb expands to billions)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


class StreamIn(_Strict):
    klass: Literal["interactive", "batch"] = Field("interactive", alias="class")
    arrival: Literal["poisson", "bursty", "diurnal"] = "poisson"
    rate_per_s: float = Field(0.0, ge=0, le=1e7)      # open loop: mean arrivals per second (0: off)
    cv: float = Field(1.0, gt=0, le=100)
    peak_to_mean: float = Field(2.0, ge=1, le=2)
    peak_hour: float = Field(14.0, ge=0, lt=24)
    day_s: float = Field(86400.0, gt=0, le=1e9)
    input_tokens: float = Field(1000, ge=1, le=workload.MAX_TOKENS)
    input_spread: float = Field(0.0, ge=0, le=3)
    output_tokens: float = Field(500, ge=1, le=workload.MAX_TOKENS)
    output_spread: float = Field(0.0, ge=0, le=3)
    lengths_from: str = Field("", max_length=4096)    # trace CSV whose (input, output) pairs are resampled
    prefix_cache_hit: float = Field(0.0, ge=0, le=1)  # share of each prompt served from the prefix cache
    deadline_s: float = Field(86400.0, gt=0, le=1e9)  # batch requests: done within this long
    count: int = Field(0, ge=0, le=1_000_000_000)     # requests to draw (closed loop default: 10 per client)


class WorkloadIn(_Strict):
    streams: list[StreamIn] = Field(default_factory=list, max_length=100)
    trace: str = Field("", max_length=4096)
    clients: int = Field(0, ge=0, le=100_000)         # > 0: closed loop, as a benchmark with that concurrency
    ramp_s: float = Field(0.0, ge=0, le=1e9)          # closed loop: the clients start spread over this long


class DeploymentIn(_Strict):
    tp: int = Field(1, ge=1, le=4096)
    pp: int = Field(1, ge=1, le=4096)
    ep: int = Field(1, ge=1, le=4096)
    dp_attn: int = Field(1, ge=1, le=4096)


class FleetIn(_Strict):
    replicas: int = Field(1, ge=1, le=100_000)
    prefill_replicas: int = Field(0, ge=0, le=100_000)
    router: Literal[ROUTERS] = "least_tokens"
    max_seqs: int = Field(0, ge=0, le=65_536)         # 0: the deployment's batch (plan) or 256
    token_budget: int = Field(8192, ge=16, le=1_000_000)  # per attention-DP rank, as each rank schedules its own
    kv_tokens: int = Field(0, ge=0, le=10**15)        # 0: what the memory left beside the weights holds
    batch_max_seqs: int = Field(0, ge=0, le=65_536)
    kv_transfer_latency_s: float = Field(KV_TRANSFER_LATENCY_S, ge=0, le=3600)
    prefill_hardware: str = Field("", max_length=64)   # prefill replicas on this accelerator (a mixed fleet)
    prefill_deployment: DeploymentIn | None = None   # their layout (default: plan's prefill worker search)


class SpeculationIn(_Strict):
    draft_tokens: int = Field(0, ge=0, le=8)          # drafts per step (0: plain decoding)
    acceptance_frac: float = Field(MTP_ACCEPTANCE_FRAC, ge=0, le=1)
    method: Literal["mtp", "eagle3"] = "mtp"          # the model's MTP heads, or an EAGLE-3 draft head


class SloIn(_Strict):
    ttft_s: float = Field(2.0, gt=0, le=1e6)
    tpot_s: float = Field(0.05, gt=0, le=1e6)


class ScenarioIn(_Strict):
    name: str = Field("scenario", max_length=200)
    model: str = Field(max_length=4096)
    hardware: str = Field(max_length=64)
    engine: str = Field("", max_length=16)
    weight_dtype: str = Field("", max_length=16)
    expert_dtype: str = Field("", max_length=16)
    kv_dtype: str = Field("bf16", max_length=16)
    deployment: DeploymentIn | None = None
    speed: float = Field(50.0, gt=0, le=10_000)
    speculation: SpeculationIn = SpeculationIn()
    fleet: FleetIn = FleetIn()
    slo: SloIn = SloIn()
    duration_s: float = Field(3600.0, gt=0, le=30 * 86400)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    workload: WorkloadIn


_MODELS = {"": ScenarioIn, "workload": WorkloadIn, "deployment": DeploymentIn, "fleet": FleetIn, "slo": SloIn,
           "streams": StreamIn, "speculation": SpeculationIn}


def _one_line(exc: ValidationError, source: str) -> InputError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc) or "scenario"
    if err["type"] == "extra_forbidden":
        parent = next((p for p in reversed(loc[:-1]) if p in _MODELS), "")
        allowed = ", ".join(f.alias or n for n, f in _MODELS[parent].model_fields.items())
        return InputError(f"{source}: unknown key {key!r}; allowed keys here: {allowed}")
    if err["type"] == "missing":
        return InputError(f"{source}: missing key {key!r}")
    fix = FIXES.get(err["type"], "see examples/ for a valid scenario")
    return InputError(f"{source}: {key}={short(err.get('input'))}: {err['msg'][0].lower() + err['msg'][1:]}; {fix}")


def _nodes(value, budget: int) -> int:
    """Values in a parsed YAML document, counting each alias as often as it is used, up to `budget`."""
    stack, seen = [value], 0
    while stack and seen <= budget:
        v = stack.pop()
        seen += 1
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return seen


def parse(data: dict, source: str = "scenario") -> ScenarioIn:
    if not isinstance(data, dict):
        raise InputError(f"{source}: a scenario is a YAML mapping with keys model, hardware, fleet, workload, ...")
    try:
        return ScenarioIn(**data)
    except ValidationError as exc:
        raise _one_line(exc, source) from None


def read(path: str | Path) -> dict:
    """The YAML mapping of a scenario (or sweep) file."""
    p = Path(path)
    try:
        refuse_special_file(p, "scenario", "the path of a scenario YAML")
        if p.stat().st_size > MAX_YAML_BYTES:
            raise InputError(f"{path}: {p.stat().st_size:,} bytes; a scenario is a few kB (at most "
                             f"{MAX_YAML_BYTES:,}): replay long request lists as a trace CSV")
        text = p.read_text()
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; give the path of a scenario YAML (see examples/)") from None
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{path}: no such file; give the path of a scenario YAML (see examples/)") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = str(getattr(exc, 'problem', None) or exc).splitlines()[0][:120]
        raise InputError(f"{path}:{where} is not valid YAML ({problem})") from None
    except RecursionError:
        raise InputError(f"{path}: nests deeper than a scenario does; flatten it") from None
    if _nodes(data, MAX_YAML_NODES) > MAX_YAML_NODES:
        raise InputError(f"{path}: over {MAX_YAML_NODES:,} values once its aliases (&, *) are expanded; "
                         "a scenario has a few dozen: remove the repeated aliases")
    return data


@dataclass
class Built:
    """Everything one simulation run needs."""
    spec: ScenarioIn
    requests: workload.Requests
    table: steptime.StepTable
    config: Config
    deployment: dict
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


def build(spec: ScenarioIn, base: Path = Path("."), seed: int | None = None,
          limits: Limits = sim_limits.CLI) -> Built:
    """Requests, step table and fleet configuration of a parsed scenario, within `limits`."""
    m = models.get(spec.model)
    hw = hardware.get(spec.hardware)
    engine = spec.engine.strip().lower()
    if engine and engine not in ENGINES:
        raise InputError(f"engine={spec.engine!r} is not known; use one of {', '.join(ENGINES)} or leave it empty")
    prec = Precision.resolve(m, spec.weight_dtype, spec.expert_dtype, spec.kv_dtype)
    eff = shipped().get(engine or None, hw.id)
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
    mean_in, mean_out = float(req.input_tokens.mean()), float(req.output_tokens.mean())
    spec_in = spec.speculation
    if spec_in.draft_tokens and spec_in.method == "mtp" and not m.mtp_layers:
        raise InputError(f"speculation.draft_tokens={spec_in.draft_tokens}: {m.id} ships no MTP heads; use 0, "
                         "or method: eagle3 (a draft head)")
    speculation = (EAGLE3 if spec_in.method == "eagle3" and spec_in.draft_tokens
                   else Speculation(spec_in.draft_tokens, spec_in.acceptance_frac))
    par, plan_batch = _deployment(spec, m, hw, prec, eff, mean_in, mean_out)
    f = spec.fleet
    free = float(memory.free_bytes_per_chip(m, hw.mem_bytes, par, prec.weight, prec.expert))
    ctx = mean_in + mean_out / 2
    kv_per_token = float(memory.kv_bytes_per_chip(m, par, 1, ctx, prec.kv)) / ctx
    if free <= 0:
        raise InputError(f"deployment: {m.id} weights do not fit on {int(par.chips)} x {hw.id}; "
                         "raise tp/pp/ep or lower weight_dtype")
    kv_tokens = f.kv_tokens or int(free / kv_per_token)
    max_seqs = f.max_seqs or plan_batch or 256
    token_budget = f.token_budget * int(par.dp_attn)
    cfg = Config(replicas=f.replicas, prefill_replicas=f.prefill_replicas, max_seqs=max_seqs,
                 token_budget=token_budget, kv_tokens=kv_tokens, router=f.router, batch_max_seqs=f.batch_max_seqs,
                 kv_transfer_latency_s=f.kv_transfer_latency_s, tokens_per_step=speculation.tokens_per_step,
                 closed_loop_clients=w.clients, closed_loop_delay_s=eff.ttft_overhead_s,
                 kv_transfer_s_per_token=float(serving.kv_handoff_s(m, prec, 1.0, hw, par.chips, hw, par.chips, eff)))
    _fits_kv(req, kv_tokens, cfg.tokens_per_step, w.trace)
    max_ctx = float(np.max(req.input_tokens + req.output_tokens))
    est = sim_limits.estimate(req.input_tokens, req.output_tokens, token_budget, cfg.tokens_per_step,
                              sim_limits.table_entries(max_seqs, max_ctx, token_budget))
    sim_limits.check(est, limits)
    table = steptime.build(m, hw, par, prec, eff, max_seqs, max_ctx, token_budget, mean_in, speculation,
                           float(req.cached_tokens.mean()))
    mixed = _mixed_prefill(spec, m, prec, eff, mean_in, float(req.cached_tokens.mean()), max_ctx, token_budget)
    if mixed:   # the KV hand-off over the slower side of the network the two pools share
        cfg.kv_transfer_s_per_token = float(serving.kv_handoff_s(m, prec, 1.0, hw, par.chips, mixed[0],
                                                                 mixed[1].chips, eff))
    if f.prefill_replicas:     # the slower pool bounds the fleet
        ptable = mixed[2] if mixed else table
        prefill_rps = token_budget / ptable.lookup(0, 0.0, token_budget)[0] / mean_in * f.prefill_replicas
        decode_rps = max_seqs * cfg.tokens_per_step / table.lookup(max_seqs, ctx, 0.0)[0] / mean_out * f.replicas
        capacity_rps = min(prefill_rps, decode_rps)
    else:
        from ..prefix import PrefixCache
        cap = aggregated(m, hw, par, prec, max_seqs, mean_in, mean_out, eff, speculation,
                         PrefixCache(float(req.cached_tokens.mean()) / mean_in, 1.0))
        capacity_rps = float(cap.output_tokens_per_s) / mean_out * f.replicas
    offered_rps = len(req) / max(float(req.arrival_s[-1] - req.arrival_s[0]), 1e-9) if not w.clients else 0.0
    deployment = {"model": m.id, "hardware": hw.id, "engine": engine or "all", "tp": int(par.tp),
                  "pp": int(par.pp), "ep": int(par.ep), "dp_attn": int(par.dp_attn),
                  "chips_per_replica": int(par.chips), "weight_dtype": prec.weight, "expert_dtype": prec.expert,
                  "kv_dtype": prec.kv, "draft_tokens": speculation.draft_tokens, "max_seqs": max_seqs,
                  "token_budget": token_budget, "kv_tokens_per_replica": kv_tokens,
                  "replicas": f.replicas, "prefill_replicas": f.prefill_replicas,
                  "chips": int(par.chips) * (f.replicas + f.prefill_replicas)}
    if mixed:
        deployment |= {"prefill_hardware": mixed[0].id, "prefill_chips_per_replica": int(mixed[1].chips),
                       "prefill_tp": int(mixed[1].tp), "prefill_dp_attn": int(mixed[1].dp_attn),
                       "prefill_pp": int(mixed[1].pp), "prefill_ep": int(mixed[1].ep),
                       "chips": int(par.chips) * f.replicas + int(mixed[1].chips) * f.prefill_replicas}
    return Built(spec, req, table, cfg, deployment, offered_rps / capacity_rps, eff.ttft_overhead_s,
                 prefill_table=mixed[2] if mixed else None, estimated_events=est.events)


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


def load(path: str | Path, overrides: dict | None = None) -> ScenarioIn:
    data = read(path)
    return parse(apply(data, overrides or {}), str(path))


def apply(data: dict, overrides: dict) -> dict:
    """A copy of `data` with dotted keys set (`fleet.router`, `workload.streams.0.rate_per_s`)."""
    import copy
    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        node = out
        keys = dotted.split(".")
        for k in keys[:-1]:
            try:
                node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
            except (IndexError, ValueError, AttributeError):
                raise InputError(f"grid key {dotted!r}: {k!r} does not exist in the scenario") from None
        if isinstance(node, list):
            try:
                node[int(keys[-1])] = value
            except (IndexError, ValueError):
                raise InputError(f"grid key {dotted!r}: {keys[-1]!r} is not an index of the list") from None
        else:
            node[keys[-1]] = value
    return out
