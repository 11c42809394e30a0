"""Serving metrics of a replica in the steady state of continuous batching (aggregated serving).

With B requests in flight, each producing O output tokens after an I-token prompt, B/O requests
finish per step and as many new prompts are prefilled in the same steps (chunked prefill), so
    t_step = step(decode B seqs at I + O/2, prefill B/O prompts of I)
    TPOT   = t_step,        tokens/s per user = 1 / TPOT,      output tokens/s = B / TPOT
    TTFT   = prefill(1 prompt of I) + t_step   (waits for a running step, then its own prefill)
"""

from dataclasses import dataclass

import numpy as np

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
    s = step(m, hw, par, prec, decode_seqs=batch, context_tokens=input_tokens + output_tokens / 2,
             prefill_seqs=batch / output_tokens, prefill_tokens=input_tokens, eff=eff)
    ttft_s = prefill_s(m, hw, par, prec, 1.0, input_tokens, eff, spread_over_dp=False) + s.step_s
    return ServingPoint(tpot_s=s.step_s, ttft_s=ttft_s, tokens_per_s_per_user=1 / s.step_s,
                        output_tokens_per_s=batch / s.step_s,
                        flops_util_frac=s.flops_util_frac, mem_util_frac=s.mem_util_frac)
