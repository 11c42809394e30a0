"""`servecost predict`: one decode or prefill step of a model on a chip, for checking the engine.

It reports the step's device time (`device_s`: kernels, collectives and hand-offs, what a CUDA-graph
replay or a profiler's kernel sum measures) and its host time (`host_s`: the engine's scheduling,
sampling and detokenising) apart, and the step an engine runs (`step_s` / `time_s`: the two with the
share of host time the engine overlaps taken off)."""

from . import memory
from .bands import rate_band, time_band
from .efficiency import DEFAULT, Efficiency
from .errors import InputError
from .hardware import Accelerator
from .models import ModelSpec
from .parallel import Parallel, check
from .roofline import Precision, step
from .units import GB


def smallest_fit(m: ModelSpec, hw: Accelerator, prec: Precision) -> int:
    """Fewest chips (a power of two in one scale-up domain, TP) that hold the weights."""
    tp = 1
    while tp <= hw.scaleup_domain_chips:
        par = Parallel(tp=tp, ep=tp if m.is_moe and m.n_experts % tp == 0 else 1)
        if memory.free_bytes_per_chip(m, hw.mem_bytes, par, prec.weight, prec.expert) > 0:
            return tp
        tp *= 2
    need = memory.weight_bytes(m, prec.weight, prec.expert) / GB
    raise InputError(f"model {m.id} ({need:,.0f} GB of weights in {prec.weight}/{prec.expert}) does not fit in one "
                     f"{hw.scaleup_domain_chips}-chip domain of {hw.id}; give --pp N to pipeline across domains, "
                     "or a lower --weight-dtype")


def predict(m: ModelSpec, hw: Accelerator, prec: Precision, par: Parallel, phase: str, batch: float,
            context_tokens: int, seq_tokens: int, eff: Efficiency = DEFAULT) -> dict:
    """Step time, throughput and memory of one step; InputError if the batch does not fit."""
    check(m, par)
    ctx = context_tokens if phase == "decode" else seq_tokens
    free = float(memory.free_bytes_per_chip(m, hw.mem_bytes, par, prec.weight, prec.expert))
    kv = float(memory.kv_bytes_per_chip(m, par, batch, ctx, prec.kv))
    weights = float(memory.weight_bytes_per_chip(m, par, prec.weight, prec.expert))
    if free <= 0:
        raise InputError(f"the weights need {weights / GB:,.1f} GB per chip, leaving no room for KV in {hw.id}'s "
                         f"{hw.mem_bytes / GB:,.1f} GB; use more chips (--tp, --ep, --pp) or a lower --weight-dtype")
    if kv > free:
        limit = int(memory.max_batch(m, hw.mem_bytes, par, ctx, prec.weight, prec.expert, prec.kv))
        raise InputError(f"batch={batch:g} at {ctx} tokens needs {kv / GB:,.1f} GB of KV per chip but "
                         f"{max(free, 0) / GB:,.1f} GB is free; use --batch <= {limit} or more chips (--tp)")
    out = {"model": m.id, "hardware": hw.id, "phase": phase, "batch": batch,
           "tp": int(par.tp), "pp": int(par.pp), "ep": int(par.ep), "dp_attn": int(par.dp_attn),
           "chips": int(par.chips), "weight_dtype": prec.weight, "expert_dtype": prec.expert, "kv_dtype": prec.kv,
           "weight_gb_per_chip": weights / GB, "kv_gb_per_chip": kv / GB}
    if phase == "decode":
        s = step(m, hw, par, prec, decode_seqs=batch, context_tokens=context_tokens, eff=eff)
        t = float(s.step_s)
        return out | {"context": context_tokens, "step_s": t, "step_s_band": time_band(t, "tpot"),
                      "device_s": float(s.device_s), "host_s": float(s.host_s),
                      "tokens_per_s": batch / t, "tokens_per_s_band": rate_band(batch / t),
                      "tokens_per_s_per_user": 1 / t}
    s = step(m, hw, par, prec, prefill_seqs=batch, prefill_tokens=seq_tokens, eff=eff, pipelined=False)
    t = float(s.step_s)
    return out | {"seq": seq_tokens, "time_s": t, "time_s_band": time_band(t, "ttft"),
                  "device_s": float(s.device_s), "host_s": float(s.host_s),
                  "tokens_per_s": batch * seq_tokens / t}


def default_parallel(m: ModelSpec, hw: Accelerator, prec: Precision, tp, pp, ep, dp_attn) -> Parallel:
    """User's parallelism, with unset fields filled: one chip when the model fits, else the fewest."""
    if tp is None and pp is None and dp_attn is None:
        tp = smallest_fit(m, hw, prec)
    tp, pp, dp = tp or 1, pp or 1, dp_attn or 1
    if ep is None:
        cps = tp * dp
        ep = cps if m.is_moe and m.n_experts % cps == 0 else 1
    return Parallel(tp=tp, pp=pp, dp_attn=dp, ep=ep)

