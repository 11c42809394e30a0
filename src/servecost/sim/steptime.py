"""Step times of one replica, tabulated once from the step-time engine and looked up per step.

A step decodes n sequences at mean context c and prefills P prompt tokens (chunked prefill). The
table spans n = 0..max_seqs exactly, c and P on grids (P = 0, then geometric from 16, c geometric
from 16, points 2^(1/4) apart); a lookup interpolates linearly in c and P between grid points (step
time is close to linear in both over such short spans) and clamps at the ends.
"""

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from ..efficiency import Efficiency
from ..hardware import Accelerator
from ..models import ModelSpec
from ..parallel import Parallel
from ..power import chip_power_w
from ..prefix import attention_cross_s
from ..roofline import Precision, step
from ..serving import expert_wait_s
from ..speculative import NONE, Speculation

RATIO = 2 ** 0.25


def _geometric(lo: float, hi: float) -> np.ndarray:
    n = int(np.ceil(np.log(hi / lo) / np.log(RATIO))) + 1
    return lo * RATIO ** np.arange(n)


@dataclass
class StepTable:
    step_s: np.ndarray        # [n, c, P]
    power_w: np.ndarray       # per chip, same shape
    ctx_grid: np.ndarray
    prefill_grid: np.ndarray
    chips: int

    def __post_init__(self):
        self._ctx = self.ctx_grid.tolist()
        self._pre = [0.0] + self.prefill_grid.tolist()
        self._step, self._power = self.step_s.tolist(), self.power_w.tolist()   # plain floats: fast scalar lookups

    @staticmethod
    def _bracket(grid: list, x: float) -> tuple[int, float]:
        """Index i and weight w with x ~ (1 - w) grid[i] + w grid[i + 1], clamped to the grid."""
        i = bisect_right(grid, x) - 1
        if i < 0:
            return 0, 0.0
        if i >= len(grid) - 1:
            return len(grid) - 2, 1.0
        return i, (x - grid[i]) / (grid[i + 1] - grid[i])

    def lookup(self, n: int, ctx: float, prefill_tokens: float) -> tuple[float, float]:
        """(step seconds, watts per chip) of a step decoding n sequences at mean context ctx and
        prefilling prefill_tokens prompt tokens."""
        ci, cw = self._bracket(self._ctx, ctx)
        pi, pw = self._bracket(self._pre, prefill_tokens)
        return self._blend(self._step[n], ci, cw, pi, pw), self._blend(self._power[n], ci, cw, pi, pw)

    @staticmethod
    def _blend(t, ci, cw, pi, pw) -> float:
        lo, hi = t[ci], t[ci + 1]
        return (lo[pi] * (1 - cw) + hi[pi] * cw) * (1 - pw) + (lo[pi + 1] * (1 - cw) + hi[pi + 1] * cw) * pw


def build(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, eff: Efficiency, max_seqs: int,
          max_ctx: float, token_budget: int, mean_prompt: float, spec: Speculation = NONE,
          mean_cached: float = 0.0) -> StepTable:
    """Tabulate step time and chip power over decode batch, context and prefill tokens. With
    `mean_cached` tokens of each prompt served from the prefix cache, a chunk's prompts are the
    mean_prompt - mean_cached new tokens, attending also to the cached ones (prefix.attention_cross_s)."""
    n = np.arange(max_seqs + 1, dtype=float)[:, None, None]
    ctx_grid = _geometric(16, max(max_ctx, 32))
    prefill_grid = np.concatenate([[0.0], _geometric(16, max(token_budget, 32))])
    c = ctx_grid[None, :, None]
    p = prefill_grid[None, None, :]
    new = max(mean_prompt - mean_cached, 1.0)
    s = step(m, hw, par, prec, decode_seqs=n, context_tokens=c, prefill_seqs=p / new,
             prefill_tokens=new, eff=eff, tokens_per_seq=spec.draft_tokens + 1)
    shape = (n.size, ctx_grid.size, prefill_grid.size)
    cross_s = attention_cross_s(m, hw, par, prec, p / new, new, mean_cached, eff)
    wait_s = expert_wait_s(m, hw, par, prec, n, c, eff, spec.draft_tokens + 1)   # the busiest expert rank
    drafts_s = np.where(n > 0, spec.draft_s(m, s.step_s + cross_s + wait_s), 0.0)   # k draft passes when anything decodes
    step_s = np.broadcast_to(s.step_s + cross_s + wait_s + drafts_s, shape).copy()
    power = np.broadcast_to(chip_power_w(hw, s.flops_util_frac, s.mem_util_frac), shape).copy()
    return StepTable(step_s, power, ctx_grid, prefill_grid[1:], int(par.chips))
