"""Serving metrics of a replica in the steady state of continuous batching (aggregated serving).

With c requests in flight (closed loop), at most B = min(c, B_mem) run at once (the KV cache holds
B_mem at the mean context I + O/2, paged, plus the cached prefixes waiting conversations keep:
prefix.py); each produces O output tokens after an I-token prompt, of which S = (1 - h) I are
computed (a share h is served from the prefix cache). p = B/O requests finish per step and as many
new prompts are prefilled in decode steps (chunked prefill). The scheduler gives a step's token
budget N (8,192 per attention-DP rank, each rank scheduling its own) to the decode tokens first and
runs the prompts in chunks of what is left,
    chunk = min(N - B, S max(1, p)),      f = min(1, p S / chunk)
so a share f of the steps carries a chunk (p / f prompts' worth) and the rest decode alone: at low
concurrency a long prompt wakes the experts of the few steps that run it, not of every step:
    t_step = f t_mixed + (1 - f) t_decode,   t_mixed = step(decode B at I + O/2, prefill p/f of S)
                                                       + cross(p/f, S, hI) + t_imb
    TPOT   = t_step,        tokens/s per user = 1 / TPOT,      output tokens/s = B / TPOT
    TTFT   = t_req + prefill(1) + f_q * (prefill(B) - prefill(1)) + (1 + k) t_step + W_mem
t_req is the fixed request overhead (HTTP, tokenisation, scheduling); k the engine steps a new
request waits to be admitted, at the loaded step time (efficiency.py); a new prompt waits for a share
f_q of the other running requests' prefills (0: arrivals perfectly staggered; 1/2: arrivals in
synchronised waves, as closed-loop benchmarks with fixed lengths start); W_mem is the wait for a KV
slot when c > B_mem: by Little's law W_mem = (c - B) / X with X = B / E2E. cross() is the new tokens'
attention to their cached prefix (prefix.attention_cross_s); t_imb = (gamma(ep) - 1) t_expert, the
wait for the busiest expert rank (imbalance.py).

Disaggregated, the prefill pool has its own workers (PrefillPool: an accelerator, possibly another
than the decode pool's, a layout and a token budget), sized to the requests the decode pool finishes.
"""

from dataclasses import dataclass

import numpy as np

from . import memory
from .efficiency import DEFAULT, Efficiency
from .hardware import Accelerator
from .imbalance import imbalance
from .models import ModelSpec
from .parallel import Parallel
from .prefix import NO_CACHE, PrefixCache, attention_cross_s
from .roofline import Precision, Step, Work, compute_s, prefill_s, step, step_work
from .speculative import NONE, Speculation
from .units import Array


@dataclass(frozen=True)
class ServingPoint:
    tpot_s: Array
    ttft_s: Array
    tokens_per_s_per_user: Array
    output_tokens_per_s: object       # per replica
    flops_util_frac: Array
    mem_util_frac: Array
    prefill_chips_frac: Array = 0.0  # disaggregated: prefill-pool chips per decode chip
    prefill_cost_frac: Array = 0.0   # share of the replica's time (aggregated) or chips (disaggregated) spent on prompts


@dataclass(frozen=True)
class PrefillPool:
    """One prefill worker of a disaggregated pool: its chips, layout and token budget per step."""
    hw: Accelerator
    par: Parallel                  # scalar layout of one worker
    budget_tokens: float           # computed prompt tokens per step (per worker)
    prompts_per_step: float
    step_s: float                  # one full step: the wave a new prompt queues behind
    lone_s: float                  # one prompt alone
    prompts_per_s_per_chip: float

    @property
    def chips(self) -> int:
        return int(self.par.chips)

    @property
    def prompt_tokens_per_s_per_chip(self) -> float:
        return self.budget_tokens / self.step_s / self.chips


PREFILL_TOKEN_BUDGET = 8192   # tokens per prefill step (vLLM max_num_batched_tokens / TRT-LLM max_num_tokens default)


def prompt_prefill_s(m, hw, par, prec, prompts, input_tokens, eff: Efficiency = DEFAULT, cache: PrefixCache = NO_CACHE,
                     spread_over_dp: bool = True):
    """Seconds to prefill `prompts` prompts of `input_tokens`, the cached share skipped (prefix.py)."""
    new, cached = cache.computed_tokens(input_tokens), cache.cached_prefix_tokens(input_tokens)
    return prefill_s(m, hw, par, prec, prompts, new, eff, spread_over_dp=spread_over_dp) \
        + attention_cross_s(m, hw, par, prec, prompts, new, cached, eff, spread_over_dp)


def pool_figures(m, hw, par, prec, input_tokens, budget_tokens, eff: Efficiency = DEFAULT,
                 cache: PrefixCache = NO_CACHE):
    """(prompts per step, step seconds, lone-prompt seconds) of a prefill worker with a token budget."""
    per_step = np.maximum(1.0, np.floor(budget_tokens / cache.computed_tokens(input_tokens)))
    step_s = prompt_prefill_s(m, hw, par, prec, per_step, input_tokens, eff, cache)
    lone_s = prompt_prefill_s(m, hw, par, prec, 1.0, input_tokens, eff, cache, spread_over_dp=False)
    return per_step, step_s, lone_s


def e2e_s(ttft_s, tpot_s, output_tokens):
    """End-to-end latency of a request: E2E = TTFT + (O - 1) * TPOT (the first token comes with TTFT)."""
    return ttft_s + (np.asarray(output_tokens) - 1) * tpot_s


def _running(m, hw, par, prec, batch, input_tokens, output_tokens, cache=NO_CACHE):
    """Requests that run at once: all of them, or as many as the KV cache holds (paged, mean context)."""
    kv_slots = memory.max_batch(m, hw.mem_bytes, par, cache.memory_context_tokens(input_tokens, output_tokens),
                                prec.weight, prec.expert, prec.kv)
    return np.where(kv_slots >= 1, np.minimum(batch, kv_slots), batch)


def expert_wait_s(m, hw, par, prec, running, context_tokens, eff, tokens_per_seq, rebalanced: bool = True):
    """t_imb = (gamma(ep) - 1) * t_expert: the wait for the busiest expert rank of each MoE layer (imbalance.py)."""
    if not m.is_moe:
        return 0.0
    pp = np.asarray(par.pp, dtype=float)
    w = step_work(m, par, prec, np.asarray(running) / pp, context_tokens, tokens_per_seq=tokens_per_seq)
    zero = 0.0 * w.expert_flops
    t_expert = compute_s(Work(zero, zero, w.expert_flops, w.expert_bytes, zero, zero), hw, prec, eff)
    return (imbalance(par.ep, rebalanced) - 1) * pp * t_expert


def mixed_steps_frac(prefill_seqs, new_tokens, decode_tokens, budget_tokens=PREFILL_TOKEN_BUDGET):
    """f, the share of decode steps that carry a prompt chunk: p S prompt tokens per step, run in
    chunks of what the token budget leaves the decode tokens, at most the prompts waiting,
        chunk = min(N - B, S max(1, p)),   f = min(1, p S / chunk)
    (vLLM and TensorRT-LLM schedule decode tokens first and chunk prompts into the rest; a budget
    the decode tokens fill leaves every step mixed)."""
    prompt_tokens = np.asarray(prefill_seqs, dtype=float) * new_tokens
    room = np.asarray(budget_tokens, dtype=float) - decode_tokens
    chunk = np.minimum(room, new_tokens * np.maximum(1.0, prefill_seqs))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(chunk > 0, prompt_tokens / chunk, 1.0)
    return np.where(prompt_tokens > 0, np.clip(f, 0.0, 1.0), 0.0)


def _one_step(m, hw, par, prec, running, context, new, cached, eff, spec, prefill_seqs, rebalanced):
    """(Step, seconds) of one step decoding `running` sequences with `prefill_seqs` prompts' chunks in it."""
    tps = spec.draft_tokens + 1
    s = step(m, hw, par, prec, decode_seqs=running, context_tokens=context,
             prefill_seqs=prefill_seqs, prefill_tokens=new, eff=eff, tokens_per_seq=tps)
    step_s = s.step_s + attention_cross_s(m, hw, par, prec, prefill_seqs, new, cached, eff) \
        + expert_wait_s(m, hw, par, prec, running, context, eff, tps, rebalanced)
    return s, step_s + spec.draft_s(m, step_s)


def _decode(m, hw, par, prec, running, input_tokens, output_tokens, eff, spec, prefill_seqs, cache=NO_CACHE,
            rebalanced=True):
    """(mixed step, TPOT, mean step time, decode-only step time) of decoding `running` sequences with
    `prefill_seqs` prompts started per step, chunked into a share f of the steps (mixed_steps_frac)."""
    context = input_tokens + output_tokens / 2
    new, cached = cache.computed_tokens(input_tokens), cache.cached_prefix_tokens(input_tokens)
    s_decode, decode_s = _one_step(m, hw, par, prec, running, context, new, cached, eff, spec, 0.0, rebalanced)
    if not np.any(np.asarray(prefill_seqs) > 0):
        return s_decode, decode_s / spec.tokens_per_step, decode_s, decode_s
    f = mixed_steps_frac(prefill_seqs, new, np.asarray(running, dtype=float) * (spec.draft_tokens + 1),
                         PREFILL_TOKEN_BUDGET * np.asarray(par.dp_attn, dtype=float))
    s, mixed_s = _one_step(m, hw, par, prec, running, context, new, cached, eff, spec,
                           np.asarray(prefill_seqs) / np.where(f > 0, f, 1.0), rebalanced)
    step_s = f * mixed_s + (1 - f) * decode_s
    return _blend(f, s, s_decode), step_s / spec.tokens_per_step, step_s, decode_s


def _blend(f, mixed: Step, decode: Step) -> Step:
    """The mean of a share f of mixed steps and 1 - f of decode-only ones (utilisations time-weighted)."""
    t_m, t_d = f * mixed.step_s, (1 - f) * decode.step_s
    t = t_m + t_d
    return Step(t, (mixed.flops_util_frac * t_m + decode.flops_util_frac * t_d) / t,
                (mixed.mem_util_frac * t_m + decode.mem_util_frac * t_d) / t,
                f * mixed.device_s + (1 - f) * decode.device_s, f * mixed.host_s + (1 - f) * decode.host_s)


def decode_tpot_s(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, batch, input_tokens,
                  output_tokens, eff: Efficiency = DEFAULT, spec: Speculation = NONE, rebalanced: bool = True):
    """TPOT of pure decode steps of `batch` sequences at the mean context (a disaggregated decode pool),
    with speculative decoding when `spec` drafts."""
    return _decode(m, hw, par, prec, batch, input_tokens, output_tokens, eff, spec, 0.0, rebalanced=rebalanced)[1]


def queued_prefill_s(lone_s, wave_s, eff: Efficiency = DEFAULT, request_overhead: bool = True):
    """t_req + prefill(1) + f_q * (prefill(wave) - prefill(1)): a new prompt's own prefill and its share
    f_q of the others' it queues behind (`wave_s`: the prefill of all of them), after the fixed request
    overhead t_req (left out with request_overhead=False)."""
    t_req = eff.ttft_overhead_s if request_overhead else 0.0
    return t_req + lone_s + eff.prefill_queue_frac * np.maximum(np.asarray(wave_s) - lone_s, 0.0)


def _queued_prefill_s(m, hw, par, prec, prompts, input_tokens, eff, cache=NO_CACHE):
    """A new prompt's prefill plus its share of the other running prompts' prefills (queued_prefill_s)."""
    lone_s = prompt_prefill_s(m, hw, par, prec, 1.0, input_tokens, eff, cache, spread_over_dp=False)
    wave_s = prompt_prefill_s(m, hw, par, prec, prompts, input_tokens, eff, cache)
    return queued_prefill_s(lone_s, wave_s, eff)


def aggregated(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, batch, input_tokens,
               output_tokens, eff: Efficiency = DEFAULT, spec: Speculation = NONE,
               cache: PrefixCache = NO_CACHE, rebalanced: bool = True) -> ServingPoint:
    """Steady-state TPOT, TTFT and throughput of one replica with `batch` requests in flight."""
    batch = np.asarray(batch, dtype=float)
    running = _running(m, hw, par, prec, batch, input_tokens, output_tokens, cache)
    prefills = running * spec.tokens_per_step / output_tokens     # prompts started per step
    s, tpot_s, step_s, decode_only_s = _decode(m, hw, par, prec, running, input_tokens, output_tokens, eff, spec,
                                               prefills, cache, rebalanced)
    ttft_running_s = _queued_prefill_s(m, hw, par, prec, running, input_tokens, eff, cache) \
        + (1 + eff.admission_steps) * step_s
    kv_wait_s = (batch - running) / running * e2e_s(ttft_running_s, tpot_s, output_tokens)
    return ServingPoint(tpot_s=tpot_s, ttft_s=ttft_running_s + kv_wait_s, tokens_per_s_per_user=1 / tpot_s,
                        output_tokens_per_s=running / tpot_s,
                        flops_util_frac=s.flops_util_frac, mem_util_frac=s.mem_util_frac,
                        prefill_cost_frac=np.clip(1 - decode_only_s / step_s, 0.0, 1.0))


def same_shape_pool(m, hw, par, prec, input_tokens, eff: Efficiency = DEFAULT, cache: PrefixCache = NO_CACHE):
    """(prompts/s per chip, queued prefill seconds) of prefill workers shaped like the decode replica with an
    8,192-token budget: how a stated deployment of measured runs prefills (benchmarks, validation)."""
    per_step, step_s, lone_s = pool_figures(m, hw, par, prec, input_tokens, PREFILL_TOKEN_BUDGET, eff, cache)
    return per_step / step_s / par.chips, queued_prefill_s(lone_s, step_s, eff)


def kv_handoff_s(m, prec, input_tokens, decode_hw, decode_chips, prefill_hw, prefill_chips, eff: Efficiency = DEFAULT):
    """A prompt's KV sent from its prefill worker to its decode replica over the scale-out network they
    share: bytes / (link_frac * min(prefill side, decode side bandwidth))."""
    link = np.minimum(prefill_hw.scaleout_bytes_per_s * np.asarray(prefill_chips, dtype=float),
                      decode_hw.scaleout_bytes_per_s * np.asarray(decode_chips, dtype=float))
    return memory.kv_bytes_per_seq(m, input_tokens, prec.kv) / (link * eff.link_bw_frac)


def disaggregated(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, batch, input_tokens,
                  output_tokens, eff: Efficiency = DEFAULT, spec: Speculation = NONE,
                  pool: PrefillPool | None = None, cache: PrefixCache = NO_CACHE,
                  rebalanced: bool = True) -> ServingPoint:
    """Separate prefill and decode pools (DistServe, Zhong et al. 2024).

    The decode replica runs pure decode steps (no prefill in them). It finishes requests at
    lambda = B / (O * TPOT) per second; a prefill worker clears mu = b / prefill(b prompts) with b
    prompts per step (a token budget), so the prefill pool needs lambda / mu workers per decode
    replica. TTFT = queued prefill + KV sent over the scale-out network + one decode step.
    `pool`: the searched prefill worker (search.prefill_pool); None: workers of the decode shape.
    """
    batch = np.asarray(batch, dtype=float)
    running = _running(m, hw, par, prec, batch, input_tokens, output_tokens, cache)
    s, tpot_s, step_s, _ = _decode(m, hw, par, prec, running, input_tokens, output_tokens, eff, spec, 0.0, cache,
                                   rebalanced)
    if pool is None:
        rate_per_chip, queued_s = same_shape_pool(m, hw, par, prec, input_tokens, eff, cache)
        prefill_hw, prefill_chips = hw, par.chips
    else:
        rate_per_chip = pool.prompts_per_s_per_chip
        queued_s = queued_prefill_s(pool.lone_s, pool.step_s, eff)
        prefill_hw, prefill_chips = pool.hw, pool.chips
    request_rate = running / (output_tokens * tpot_s)
    frac = request_rate / rate_per_chip / par.chips
    ttft_s = queued_s + kv_handoff_s(m, prec, input_tokens, hw, par.chips, prefill_hw, prefill_chips, eff) + step_s
    return ServingPoint(tpot_s=tpot_s,
                        ttft_s=ttft_s + (batch - running) / running * e2e_s(ttft_s, tpot_s, output_tokens),
                        tokens_per_s_per_user=1 / tpot_s, output_tokens_per_s=running / tpot_s,
                        flops_util_frac=s.flops_util_frac, mem_util_frac=s.mem_util_frac,
                        prefill_chips_frac=frac, prefill_cost_frac=frac / (1 + frac))
