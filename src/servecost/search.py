"""The deployment space of one model on one accelerator, evaluated as numpy arrays.

A deployment is (tp, dp_attn, pp, ep) chips per replica and a batch per replica. All of them are
evaluated at once: configurations along one axis, batch sizes along the other. Points that do not
fit in memory are masked, not raised.
"""

from dataclasses import dataclass, fields
from math import gcd

import numpy as np

from . import economics, memory, speculative
from .dtypes import bytes_per_element
from .economics import Assumptions
from .efficiency import DEFAULT, Efficiency
from .hardware import Accelerator
from .models import ModelSpec
from .parallel import Parallel
from .power import chip_power_w
from .roofline import Precision
from .prefix import NO_CACHE, PrefixCache
from .serving import PrefillPool, aggregated, disaggregated, pool_figures, queued_prefill_s
from .speculative import NONE, Speculation

BATCHES = np.unique(np.round(2 ** np.arange(0, 16.01, 0.5)))   # 1 .. 65536, steps of sqrt(2)
MAX_CHIPS_PER_REPLICA = 16384
MAX_SCALEOUT_STAGE_CHIPS = 256   # expert parallelism over the scale-out network (DeepSeek-V3 decodes on EP144-320)
PP_BEYOND_FIT = 4       # pipeline depth explored past the smallest that holds the weights
STAGE_BEYOND_FIT = 16   # chips per stage explored, beyond one domain, up to this many times the fewest that fit
# Prefill token budgets per attention-DP rank searched for a prefill worker: vLLM's default
# max_num_batched_tokens (8,192) and the 16K tokens per forward pass DeepSeek prefills with
# (github.com/sgl-project/sglang/pull/6739, 2025-06; DeepSeek inference system overview, 2025-03), with half of
# 8K for short TTFT.
PREFILL_BUDGETS_PER_RANK = (4096, 8192, 16384)


@dataclass(frozen=True)
class Points:
    """Flat arrays, one entry per (variant, configuration, batch) point."""
    tp: np.ndarray
    dp_attn: np.ndarray
    pp: np.ndarray
    ep: np.ndarray
    chips_per_replica: np.ndarray        # decode replica (aggregated: the whole replica)
    prefill_chips_frac: np.ndarray       # disaggregated: prefill-pool chips per decode chip (else 0)
    prefill_hardware: np.ndarray         # disaggregated: the prefill pool's accelerator id (else "")
    prefill_tp: np.ndarray               # prefill worker layout (0 when aggregated)
    prefill_dp_attn: np.ndarray
    prefill_pp: np.ndarray
    prefill_ep: np.ndarray
    prefill_chips_per_worker: np.ndarray
    prefill_budget_tokens: np.ndarray    # computed prompt tokens per prefill step per worker
    prefill_cost_frac: np.ndarray        # share of the cost that serves prompts (input tokens)
    batch: np.ndarray
    weight_dtype: np.ndarray
    expert_dtype: np.ndarray
    kv_dtype: np.ndarray
    draft_tokens: np.ndarray
    speculation: np.ndarray              # none | mtp1 | mtp3 | eagle3
    disaggregated: np.ndarray
    fits: np.ndarray                     # weights and KV fit in memory
    tpot_s: np.ndarray
    ttft_s: np.ndarray
    tokens_per_s_per_user: np.ndarray
    output_tokens_per_s_per_chip: np.ndarray   # over decode and prefill chips
    chip_power_w: np.ndarray
    usd_per_hr_per_chip: np.ndarray      # mean over decode and prefill chips
    decode_usd_per_hr_per_chip: np.ndarray
    prefill_usd_per_hr_per_chip: np.ndarray
    usd_per_mtok: np.ndarray             # of the tokens the point itself produces (at its own speed)

    @classmethod
    def concat(cls, parts: list["Points"]) -> "Points":
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    def take(self, index) -> "Points":
        return Points(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass(frozen=True)
class Deployment:
    """One searched deployment: the replica's layout, batch, dtypes, speculation and serving mode."""
    tp: int
    dp_attn: int
    pp: int
    ep: int
    chips_per_replica: int
    batch_per_replica: int
    disaggregated: bool
    weight_dtype: str
    expert_dtype: str
    kv_dtype: str
    draft_tokens: int
    speculation: str                     # none | mtp1 | mtp3 | eagle3

    @classmethod
    def at(cls, pts: Points, i: int) -> "Deployment":
        """The deployment of point `i`."""
        return cls(tp=int(pts.tp[i]), dp_attn=int(pts.dp_attn[i]), pp=int(pts.pp[i]), ep=int(pts.ep[i]),
                   chips_per_replica=int(pts.chips_per_replica[i]), batch_per_replica=int(pts.batch[i]),
                   disaggregated=bool(pts.disaggregated[i]), weight_dtype=str(pts.weight_dtype[i]),
                   expert_dtype=str(pts.expert_dtype[i]), kv_dtype=str(pts.kv_dtype[i]),
                   draft_tokens=int(pts.draft_tokens[i]), speculation=str(pts.speculation[i]))

    @property
    def mode(self) -> str:
        return "disaggregated" if self.disaggregated else "aggregated"

    @property
    def parallel(self) -> Parallel:
        return Parallel(tp=self.tp, dp_attn=self.dp_attn, pp=self.pp, ep=self.ep)

    def same_but_batch(self, pts: Points) -> np.ndarray:
        """Mask of the points that run this deployment at any batch: same layout, dtypes, drafts, mode."""
        return ((pts.tp == self.tp) & (pts.dp_attn == self.dp_attn) & (pts.pp == self.pp) & (pts.ep == self.ep)
                & (pts.weight_dtype == self.weight_dtype) & (pts.expert_dtype == self.expert_dtype)
                & (pts.kv_dtype == self.kv_dtype) & (pts.draft_tokens == self.draft_tokens)
                & (pts.speculation == self.speculation) & (pts.disaggregated == self.disaggregated))


@dataclass(frozen=True)
class Variant:
    """What a deployment varies besides its layout and batch: precision, speculation, pools."""
    prec: Precision
    spec: Speculation = NONE
    disaggregated: bool = False
    prefill_hw: Accelerator | None = None   # disaggregated: the prefill pool's accelerator (None: the decode one)


def precisions(m: ModelSpec, hw: Accelerator, base: Precision, which: str = "native") -> list[Precision]:
    """`base` alone ('native'), or also the lower-precision weights and KV the chip computes natively
    ('all'): fp8, then fp4 (NVFP4 on NVIDIA, MXFP4 elsewhere) or, without fp4, int4 weight-only."""
    if which == "native":
        return [base]
    weights = [(base.weight, base.expert)]
    narrowest = min(bytes_per_element(base.weight), bytes_per_element(base.expert))
    if hw.fp8_flops_per_s > 0 and narrowest > 1:
        weights.append(("fp8", "fp8"))
    four_bit = ("nvfp4" if hw.vendor == "NVIDIA" else "mxfp4") if hw.fp4_flops_per_s > 0 else "int4"
    if narrowest > bytes_per_element(four_bit):
        weights.append((base.weight if bytes_per_element(base.weight) <= 1 else "fp8", four_bit)
                       if m.is_moe else (four_bit, four_bit))
    kvs = [base.kv] + (["fp8"] if hw.fp8_flops_per_s > 0 and base.kv != "fp8" else [])
    return [Precision(weight=w, expert=e, kv=kv) for w, e in weights for kv in kvs]


def variants(m: ModelSpec, hw: Accelerator, base: Precision, which_precisions: str = "native",
             speculation: bool = True, disaggregation: bool = True, speculation_method: str = "auto",
             prefill_hw: Accelerator | None = None) -> list[Variant]:
    """The variants searched for `m` on `hw`; with `prefill_hw`, disaggregated ones only, prefilling there."""
    specs = speculative.defaults(m, speculation_method) if speculation else [NONE]
    modes = [True] if prefill_hw is not None else [False, True] if disaggregation else [False]
    return [Variant(p, sp, d, prefill_hw if d else None)
            for p in precisions(m, hw, base, which_precisions) for sp in specs for d in modes]


def prefill_pool(m: ModelSpec, hw: Accelerator, prec: Precision, input_tokens: float, eff: Efficiency = DEFAULT,
                 cache: PrefixCache = NO_CACHE, layouts: Parallel | None = None) -> PrefillPool | None:
    """The prefill worker for `m` on `hw`: every layout that holds the weights (inside a scale-up
    domain or across several) and token budget, the step's KV in memory; of those within 10% of the
    most prompts/s per chip, the one with the shortest queued prefill (TTFT). None: nothing fits.
    `layouts`: configurations(m, hw, prec), when the caller has them."""
    flat = configurations(m, hw, prec) if layouts is None else layouts
    if flat.tp.size == 0:
        return None
    par = Parallel(tp=flat.tp[:, None], dp_attn=flat.dp_attn[:, None], pp=flat.pp[:, None], ep=flat.ep[:, None])
    budget = np.asarray(PREFILL_BUDGETS_PER_RANK, dtype=float)[None, :] * par.dp_attn
    per_step, step_s, lone_s = pool_figures(m, hw, par, prec, input_tokens, budget, eff, cache)
    kv_slots = memory.max_batch(m, hw.mem_bytes, par, input_tokens, prec.weight, prec.expert, prec.kv)
    rate = np.where(kv_slots >= per_step, per_step / step_s / par.chips, 0.0)
    if not (rate > 0).any():
        return None
    queued_s = queued_prefill_s(lone_s, step_s, eff, request_overhead=False)
    i, j = np.unravel_index(np.argmin(np.where(rate >= 0.9 * rate.max(), queued_s, np.inf)), rate.shape)
    worker = Parallel(tp=int(flat.tp[i]), dp_attn=int(flat.dp_attn[i]), pp=int(flat.pp[i]), ep=int(flat.ep[i]))
    computed = float(np.broadcast_to(per_step, rate.shape)[i, j] * cache.computed_tokens(input_tokens))
    return PrefillPool(hw=hw, par=worker, budget_tokens=computed,
                       prompts_per_step=float(np.broadcast_to(per_step, rate.shape)[i, j]),
                       step_s=float(np.broadcast_to(step_s, rate.shape)[i, j]),
                       lone_s=float(np.broadcast_to(lone_s, rate.shape)[i, j]), prompts_per_s_per_chip=float(rate[i, j]))


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
    fewest = min((cps * pp for cps, pp in min_pp.items()), default=1)   # fewest chips per replica that fit
    widest = max(hw.scaleup_domain_chips, STAGE_BEYOND_FIT * fewest)
    keep = np.array([ok and pp <= PP_BEYOND_FIT * min_pp[cps] and cps <= widest
                     for cps, pp, ok in zip(par.chips_per_stage, grid[2], fits)], dtype=bool)
    return Parallel(tp=grid[0][keep], dp_attn=grid[1][keep], pp=grid[2][keep], ep=grid[3][keep])


def _evaluate(m: ModelSpec, hw: Accelerator, v: Variant, input_tokens: float, output_tokens: float,
              assumptions: Assumptions, eff: Efficiency, batches: np.ndarray, flat: Parallel,
              pool: PrefillPool | None, cache: PrefixCache, rebalanced: bool) -> Points | None:
    if flat.tp.size == 0 or (v.disaggregated and pool is None):
        return None
    prec = v.prec
    par = Parallel(tp=flat.tp[:, None], dp_attn=flat.dp_attn[:, None], pp=flat.pp[:, None], ep=flat.ep[:, None])
    batch = np.asarray(batches, dtype=float)[None, :]
    max_b = memory.max_batch(m, hw.mem_bytes, par, cache.memory_context_tokens(input_tokens, 2 * output_tokens),
                             prec.weight, prec.expert, prec.kv)
    fits = (batch <= max_b) & (batch >= par.dp_attn)
    if v.disaggregated:
        sp = disaggregated(m, hw, par, prec, batch, input_tokens, output_tokens, eff, v.spec, pool, cache, rebalanced)
    else:
        sp = aggregated(m, hw, par, prec, batch, input_tokens, output_tokens, eff, v.spec, cache, rebalanced)
    chips = np.broadcast_to(par.chips, fits.shape)
    frac = np.broadcast_to(np.asarray(sp.prefill_chips_frac, dtype=float), fits.shape)
    decode_w = chip_power_w(hw, sp.flops_util_frac, sp.mem_util_frac)
    decode_usd = economics.chip_usd_per_hr(hw, decode_w, assumptions)
    prefill_hw = pool.hw if v.disaggregated else hw
    prefill_w = prefill_hw.load_w                      # prefill pools run compute-bound, near load power
    prefill_usd = economics.chip_usd_per_hr(prefill_hw, prefill_w, assumptions) if v.disaggregated else 0.0
    power_w = (decode_w + frac * prefill_w) / (1 + frac)
    usd_chip_hr = (decode_usd + frac * prefill_usd) / (1 + frac)
    per_chip_tps = sp.output_tokens_per_s / (chips * (1 + frac))
    usd_mtok = economics.usd_per_mtok(usd_chip_hr, per_chip_tps, assumptions)
    shape = fits.shape

    def flat_(x):
        return np.broadcast_to(x, shape).ravel()

    def const(value, dtype=None):
        return np.full(fits.size, value, dtype=dtype)

    worker = pool.par if v.disaggregated else Parallel(0, 0, 0, 0)
    return Points(tp=flat_(par.tp), dp_attn=flat_(par.dp_attn), pp=flat_(par.pp), ep=flat_(par.ep),
                  chips_per_replica=flat_(chips), prefill_chips_frac=flat_(frac),
                  prefill_hardware=const(prefill_hw.id if v.disaggregated else ""),
                  prefill_tp=const(worker.tp, int), prefill_dp_attn=const(worker.dp_attn, int),
                  prefill_pp=const(worker.pp, int), prefill_ep=const(worker.ep, int),
                  prefill_chips_per_worker=const(int(worker.chips), int),
                  prefill_budget_tokens=const(pool.budget_tokens if v.disaggregated else 0.0),
                  prefill_cost_frac=flat_(sp.prefill_cost_frac), batch=flat_(batch),
                  weight_dtype=const(prec.weight), expert_dtype=const(prec.expert), kv_dtype=const(prec.kv),
                  draft_tokens=const(v.spec.draft_tokens, int), speculation=const(v.spec.name),
                  disaggregated=const(v.disaggregated, bool),
                  fits=flat_(fits), tpot_s=flat_(sp.tpot_s), ttft_s=flat_(sp.ttft_s),
                  tokens_per_s_per_user=flat_(sp.tokens_per_s_per_user),
                  output_tokens_per_s_per_chip=flat_(per_chip_tps), chip_power_w=flat_(power_w),
                  usd_per_hr_per_chip=flat_(usd_chip_hr), decode_usd_per_hr_per_chip=flat_(decode_usd),
                  prefill_usd_per_hr_per_chip=const(float(prefill_usd)), usd_per_mtok=flat_(usd_mtok))


def evaluate(m: ModelSpec, hw: Accelerator, variants_: list[Variant] | Precision, input_tokens: float,
             output_tokens: float, assumptions: Assumptions = Assumptions(), eff: Efficiency = DEFAULT,
             batches: np.ndarray = BATCHES, cache: PrefixCache = NO_CACHE, rebalanced: bool = True,
             prefill_eff: Efficiency | None = None) -> Points:
    """Every deployment of `m` on `hw` (every variant, layout and batch): speed, throughput, power, cost.
    Disaggregated variants prefill on their searched prefill worker (prefill_pool), on the variant's
    prefill accelerator with `prefill_eff` (default: `eff`)."""
    if isinstance(variants_, Precision):
        variants_ = [Variant(variants_)]
    layouts: dict[tuple[str, str], Parallel] = {}   # the layouts that hold the weights depend on their dtypes only
    pools: dict[tuple, PrefillPool | None] = {}
    parts = []
    for v in variants_:
        key = (v.prec.weight, v.prec.expert)
        if key not in layouts:
            layouts[key] = configurations(m, hw, v.prec)
        pool = None
        if v.disaggregated:
            phw = v.prefill_hw or hw
            pkey = (phw.id, v.prec)
            if pkey not in pools:
                same = phw.id == hw.id
                pools[pkey] = prefill_pool(m, phw, v.prec, input_tokens, prefill_eff or eff, cache,
                                           layouts[key] if same else None)
            pool = pools[pkey]
        parts.append(_evaluate(m, hw, v, input_tokens, output_tokens, assumptions, eff, batches, layouts[key],
                               pool, cache, rebalanced))
    parts = [p for p in parts if p is not None]
    if not parts:
        return _evaluate_empty()
    return Points.concat(parts)


def _evaluate_empty() -> Points:
    return Points(**{f.name: np.array([]) for f in fields(Points)})


def pareto_mask(x, y, order=None) -> np.ndarray:
    """True where no other point has x' >= x and y' >= y with one of them greater (both maximised).

    Walk the points by x descending: a point is on the frontier when its y beats every y seen
    before it; of points with equal x only the highest y can be. `order` (argsort of -x) may be
    passed when several y share one x."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    order = np.argsort(-x, kind="stable") if order is None else order
    ys = y[order]
    best_before = np.maximum.accumulate(np.concatenate([[-np.inf], ys[:-1]]))
    keep = np.zeros(x.size, dtype=bool)
    keep[order] = ys > best_before
    kept = np.flatnonzero(keep)
    values, counts = np.unique(x[kept], return_counts=True)
    for value in values[counts > 1]:       # equal x: only the best y stays
        same = kept[x[kept] == value]
        keep[same] = False
        keep[same[np.argmax(y[same])]] = True
    return keep
