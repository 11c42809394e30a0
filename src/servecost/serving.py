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
from .speculative import NONE, Speculation


@dataclass(frozen=True)
class ServingPoint:
    tpot_s: object
    ttft_s: object
    tokens_per_s_per_user: object
    output_tokens_per_s: object       # per replica
    flops_util_frac: object
    mem_util_frac: object
    prefill_chips_frac: object = 0.0  # disaggregated: prefill-pool chips per decode chip
    prefill_cost_frac: object = 0.0   # share of the replica's time (aggregated) or chips (disaggregated) spent on prompts


def _running(m, hw, par, prec, batch, input_tokens, output_tokens):
    """Requests that run at once: all of them, or as many as the KV cache holds (paged, mean context)."""
    kv_slots = memory.max_batch(m, hw.mem_bytes, par, input_tokens + output_tokens / 2, prec.weight, prec.expert,
                                prec.kv)
    return np.where(kv_slots >= 1, np.minimum(batch, kv_slots), batch)


def _decode(m, hw, par, prec, running, input_tokens, output_tokens, eff, spec, prefill_seqs):
    """(step, TPOT, step time) of decoding `running` sequences, with `prefill_seqs` prompts mixed in."""
    s = step(m, hw, par, prec, decode_seqs=running, context_tokens=input_tokens + output_tokens / 2,
             prefill_seqs=prefill_seqs, prefill_tokens=input_tokens, eff=eff, tokens_per_seq=spec.draft_tokens + 1)
    step_s = s.step_s + spec.draft_s(m, s.step_s)
    return s, step_s / spec.tokens_per_step, step_s


def decode_tpot_s(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, batch, input_tokens,
                  output_tokens, eff: Efficiency = DEFAULT, spec: Speculation = NONE):
    """TPOT of pure decode steps of `batch` sequences at the mean context (a disaggregated decode pool),
    with speculative decoding when `spec` drafts."""
    return _decode(m, hw, par, prec, batch, input_tokens, output_tokens, eff, spec, 0.0)[1]


def _queued_prefill_s(m, hw, par, prec, prompts, input_tokens, eff):
    """A new prompt's prefill plus its share of the other prompts' prefills it queues behind."""
    lone_s = prefill_s(m, hw, par, prec, 1.0, input_tokens, eff, spread_over_dp=False)
    wave_s = prefill_s(m, hw, par, prec, prompts, input_tokens, eff)
    return eff.ttft_overhead_s + lone_s + eff.prefill_queue_frac * np.maximum(wave_s - lone_s, 0)


def aggregated(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, batch, input_tokens,
               output_tokens, eff: Efficiency = DEFAULT, spec: Speculation = NONE) -> ServingPoint:
    """Steady-state TPOT, TTFT and throughput of one replica with `batch` requests in flight."""
    batch = np.asarray(batch, dtype=float)
    running = _running(m, hw, par, prec, batch, input_tokens, output_tokens)
    prefills = running * spec.tokens_per_step / output_tokens     # prompts started per step
    s, tpot_s, step_s = _decode(m, hw, par, prec, running, input_tokens, output_tokens, eff, spec, prefills)
    ttft_running_s = _queued_prefill_s(m, hw, par, prec, running, input_tokens, eff) + step_s
    e2e_s = ttft_running_s + (output_tokens - 1) * tpot_s
    kv_wait_s = (batch - running) / running * e2e_s
    _, _, decode_only_s = _decode(m, hw, par, prec, running, input_tokens, output_tokens, eff, spec, 0.0)
    return ServingPoint(tpot_s=tpot_s, ttft_s=ttft_running_s + kv_wait_s, tokens_per_s_per_user=1 / tpot_s,
                        output_tokens_per_s=running / tpot_s,
                        flops_util_frac=s.flops_util_frac, mem_util_frac=s.mem_util_frac,
                        prefill_cost_frac=np.clip(1 - decode_only_s / step_s, 0.0, 1.0))


PREFILL_TOKEN_BUDGET = 8192   # tokens per prefill step (vLLM max_num_batched_tokens / TRT-LLM max_num_tokens default)


def disaggregated(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, batch, input_tokens,
                  output_tokens, eff: Efficiency = DEFAULT, spec: Speculation = NONE) -> ServingPoint:
    """Separate prefill and decode pools of the same replica shape (DistServe, Zhong et al. 2024).

    The decode replica runs pure decode steps (no prefill in them). It finishes requests at
    lambda = B / (O * TPOT) per second; a prefill replica clears mu = b / prefill(b prompts) with b
    prompts per step (a token budget), so the prefill pool needs lambda / mu replicas per decode
    replica. TTFT = queued prefill + KV sent over the scale-out network + one decode step.
    """
    batch = np.asarray(batch, dtype=float)
    running = _running(m, hw, par, prec, batch, input_tokens, output_tokens)
    s, tpot_s, step_s = _decode(m, hw, par, prec, running, input_tokens, output_tokens, eff, spec, 0.0)
    per_step = np.maximum(1.0, np.floor(PREFILL_TOKEN_BUDGET / input_tokens))
    prefill_rate = per_step / prefill_s(m, hw, par, prec, per_step, input_tokens, eff)
    request_rate = running / (output_tokens * tpot_s)
    kv_transfer_s = memory.kv_bytes_per_seq(m, input_tokens, prec.kv) / (
        hw.scaleout_bytes_per_s * eff.link_bw_frac * par.chips)
    ttft_s = _queued_prefill_s(m, hw, par, prec, per_step, input_tokens, eff) + kv_transfer_s + step_s
    e2e_s = ttft_s + (output_tokens - 1) * tpot_s
    return ServingPoint(tpot_s=tpot_s, ttft_s=ttft_s + (batch - running) / running * e2e_s,
                        tokens_per_s_per_user=1 / tpot_s, output_tokens_per_s=running / tpot_s,
                        flops_util_frac=s.flops_util_frac, mem_util_frac=s.mem_util_frac,
                        prefill_chips_frac=request_rate / prefill_rate,
                        prefill_cost_frac=(request_rate / prefill_rate) / (1 + request_rate / prefill_rate))
