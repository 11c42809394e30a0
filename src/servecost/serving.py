"""Serving metrics of a replica in the steady state of continuous batching (aggregated serving).

With c requests in flight (closed loop), at most B = min(c, B_mem) run at once (the KV cache holds
B_mem at the mean context I + O/2, paged); each produces O output tokens after an I-token prompt. B/O requests finish per step and as
many new prompts are prefilled in the same steps (chunked prefill), so
    t_step = step(decode B seqs at I + O/2, prefill B/O prompts of I)
    TPOT   = t_step,        tokens/s per user = 1 / TPOT,      output tokens/s = B / TPOT
    TTFT   = t_req + prefill(1) + f_q * (prefill(B) - prefill(1)) + t_step + W_mem
t_req is the fixed request overhead (HTTP, tokenisation, scheduling); a new prompt waits for a share
f_q of the other running requests' prefills (0: arrivals perfectly staggered; 1/2: arrivals in
synchronised waves, as closed-loop benchmarks with fixed lengths start); W_mem is the wait for a KV
slot when c > B_mem: by Little's law W_mem = (c - B) / X with X = B / E2E.
"""

from dataclasses import dataclass

import numpy as np

from . import memory
from .efficiency import DEFAULT, Efficiency
from .hardware import Accelerator
from .models import ModelSpec
from .parallel import Parallel
from .roofline import Precision, prefill_s, step


@dataclass(frozen=True)
class ServingPoint:
    tpot_s: object
    ttft_s: object
    tokens_per_s_per_user: object
    output_tokens_per_s: object       # per replica
    flops_util_frac: object
    mem_util_frac: object


def aggregated(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, batch, input_tokens,
               output_tokens, eff: Efficiency = DEFAULT) -> ServingPoint:
    """Steady-state TPOT, TTFT and throughput of one replica with `batch` requests in flight."""
    batch = np.asarray(batch, dtype=float)
    # Paged KV: requests at staggered points of their output hold I + O/2 tokens on average.
    kv_slots = memory.max_batch(m, hw.mem_bytes, par, input_tokens + output_tokens / 2, prec.weight, prec.expert,
                                prec.kv)
    running = np.where(kv_slots >= 1, np.minimum(batch, kv_slots), batch)
    s = step(m, hw, par, prec, decode_seqs=running, context_tokens=input_tokens + output_tokens / 2,
             prefill_seqs=running / output_tokens, prefill_tokens=input_tokens, eff=eff)
    lone_s = prefill_s(m, hw, par, prec, 1.0, input_tokens, eff, spread_over_dp=False)
    wave_s = prefill_s(m, hw, par, prec, running, input_tokens, eff)
    ttft_running_s = eff.ttft_overhead_s + lone_s + eff.prefill_queue_frac * np.maximum(wave_s - lone_s, 0) \
        + s.step_s
    e2e_s = ttft_running_s + (output_tokens - 1) * s.step_s
    kv_wait_s = (batch - running) / running * e2e_s
    return ServingPoint(tpot_s=s.step_s, ttft_s=ttft_running_s + kv_wait_s, tokens_per_s_per_user=1 / s.step_s,
                        output_tokens_per_s=running / s.step_s,
                        flops_util_frac=s.flops_util_frac, mem_util_frac=s.mem_util_frac)
