"""The deployment space of one model on one accelerator, evaluated as numpy arrays.

A deployment is (tp, dp_attn, pp, ep) chips per replica and a batch per replica. All of them are
evaluated at once: configurations along one axis, batch sizes along the other. Points that do not
fit in memory are masked, not raised.
"""

from dataclasses import dataclass
from math import gcd

import numpy as np

from . import economics, memory
from .economics import Assumptions
from .efficiency import DEFAULT, Efficiency
from .hardware import Accelerator
from .models import ModelSpec
from .parallel import Parallel
from .power import chip_power_w
from .roofline import Precision
from .serving import aggregated

BATCHES = np.unique(np.round(2 ** np.arange(0, 16.01, 0.5)))   # 1 .. 65536, steps of sqrt(2)
MAX_CHIPS_PER_REPLICA = 16384
MAX_SCALEOUT_STAGE_CHIPS = 256   # expert parallelism over the scale-out network (DeepSeek-V3 decodes on EP144-320)
PP_BEYOND_FIT = 4       # pipeline depth explored past the smallest that holds the weights


@dataclass(frozen=True)
class Points:
    """Flat arrays, one entry per (configuration, batch) point."""
    tp: np.ndarray
    dp_attn: np.ndarray
    pp: np.ndarray
    ep: np.ndarray
    chips_per_replica: np.ndarray
    batch: np.ndarray
    fits: np.ndarray                     # weights and KV fit in memory
    tpot_s: np.ndarray
    ttft_s: np.ndarray
    tokens_per_s_per_user: np.ndarray
    output_tokens_per_s_per_chip: np.ndarray
    chip_power_w: np.ndarray
    usd_per_hr_per_chip: np.ndarray
    usd_per_mtok: np.ndarray


def _powers_of_two(limit: int) -> list[int]:
    return [2**i for i in range(0, int(np.log2(max(limit, 1))) + 1)]


def _stage_sizes(hw: Accelerator) -> list[int]:
    """Chips per pipeline stage: powers of two within the scale-up domain and, over scale-out, beyond it."""
    limit = hw.scaleup_domain_chips if hw.serves_from_sram else max(hw.scaleup_domain_chips, MAX_SCALEOUT_STAGE_CHIPS)
    sizes = _powers_of_two(min(limit, MAX_CHIPS_PER_REPLICA))
    if hw.scaleup_domain_chips not in sizes and hw.scaleup_domain_chips <= MAX_CHIPS_PER_REPLICA:
        sizes.append(hw.scaleup_domain_chips)   # e.g. the 72 GPUs of an NVL72 rack
    return sizes


def _attention_splits(m: ModelSpec, chips_per_stage: int) -> list[int]:
    """Attention TP degrees for a stage: powers of two dividing the heads (and KV heads, or a multiple)."""
    out = []
    for tp in _powers_of_two(chips_per_stage):
        if chips_per_stage % tp or m.n_heads % tp:
            continue
        if m.attention == "gqa" and (m.n_kv_heads % tp if tp <= m.n_kv_heads else tp % m.n_kv_heads):
            continue
        out.append(tp)
    return out


def _expert_splits(m: ModelSpec, chips_per_stage: int) -> list[int]:
    if not m.is_moe:
        return [1]
    g = gcd(chips_per_stage, m.n_experts)
    ep = 2 ** int(np.log2(g & -g)) if g else 1   # largest power of two dividing both
    return sorted({1, ep})


def configurations(m: ModelSpec, hw: Accelerator, prec: Precision) -> Parallel:
    """All (tp, dp_attn, pp, ep) for `m` on `hw` whose weights fit, as a Parallel of 1-D arrays."""
    rows = []
    for cps in _stage_sizes(hw):
        for tp in _attention_splits(m, cps):
            for ep in _expert_splits(m, cps):
                for pp in _powers_of_two(min(m.n_layers, MAX_CHIPS_PER_REPLICA // cps)):
                    rows.append((tp, cps // tp, pp, ep))
    grid = np.array(rows, dtype=float).T
    par = Parallel(tp=grid[0], dp_attn=grid[1], pp=grid[2], ep=grid[3])
    free = memory.free_bytes_per_chip(m, hw.mem_bytes, par, prec.weight, prec.expert)
    fits = free > 0
    min_pp = {}
    for cps, pp, ok in zip(par.chips_per_stage, grid[2], fits):
        if ok:
            min_pp[cps] = min(min_pp.get(cps, np.inf), pp)
    keep = np.array([ok and pp <= PP_BEYOND_FIT * min_pp[cps]
                     for cps, pp, ok in zip(par.chips_per_stage, grid[2], fits)], dtype=bool)
    return Parallel(tp=grid[0][keep], dp_attn=grid[1][keep], pp=grid[2][keep], ep=grid[3][keep])


def evaluate(m: ModelSpec, hw: Accelerator, prec: Precision, input_tokens: float, output_tokens: float,
             assumptions: Assumptions = Assumptions(), eff: Efficiency = DEFAULT,
             batches: np.ndarray = BATCHES) -> Points:
    """Every deployment of `m` on `hw` at every batch: speed, throughput, power and cost."""
    flat = configurations(m, hw, prec)
    par = Parallel(tp=flat.tp[:, None], dp_attn=flat.dp_attn[:, None], pp=flat.pp[:, None], ep=flat.ep[:, None])
    batch = np.asarray(batches, dtype=float)[None, :]
    max_b = memory.max_batch(m, hw.mem_bytes, par, input_tokens + output_tokens, prec.weight, prec.expert, prec.kv)
    fits = (batch <= max_b) & (batch >= par.dp_attn)
    sp = aggregated(m, hw, par, prec, batch, input_tokens, output_tokens, eff)
    chips = np.broadcast_to(par.chips, fits.shape)
    power_w = chip_power_w(hw, sp.flops_util_frac, sp.mem_util_frac)
    usd_chip_hr = economics.chip_usd_per_hr(hw, power_w, assumptions)
    per_chip_tps = sp.output_tokens_per_s / chips
    usd_mtok = economics.usd_per_mtok(usd_chip_hr, per_chip_tps, assumptions)

    def flat_(x):
        return np.broadcast_to(x, fits.shape).ravel()

    return Points(tp=flat_(par.tp), dp_attn=flat_(par.dp_attn), pp=flat_(par.pp), ep=flat_(par.ep),
                  chips_per_replica=flat_(chips), batch=flat_(batch), fits=flat_(fits),
                  tpot_s=flat_(sp.tpot_s), ttft_s=flat_(sp.ttft_s),
                  tokens_per_s_per_user=flat_(sp.tokens_per_s_per_user),
                  output_tokens_per_s_per_chip=flat_(per_chip_tps), chip_power_w=flat_(power_w),
                  usd_per_hr_per_chip=flat_(usd_chip_hr), usd_per_mtok=flat_(usd_mtok))
