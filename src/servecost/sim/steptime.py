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

    def lookup(self, n: int, ctx: float, prefill_tokens: float) -> tuple[float, float]:
        """(step seconds, watts per chip) of a step decoding n sequences at mean context ctx and
        prefilling prefill_tokens prompt tokens, interpolated bilinearly in the table's row n:

            c_i <= ctx < c_(i+1), w_c = (ctx - c_i) / (c_(i+1) - c_i)   (clamped: w_c = 0 or 1 off the grid)
            p_j <= prefill_tokens < p_(j+1), w_p likewise
            T = ((1 - w_c) T[i, j] + w_c T[i+1, j]) (1 - w_p) + ((1 - w_c) T[i, j+1] + w_c T[i+1, j+1]) w_p

        Written out in one function: the engine looks up every step, and a call costs more than the
        arithmetic."""
        grid = self._ctx
        ci = bisect_right(grid, ctx) - 1
        if ci < 0:
            ci, cw = 0, 0.0
        elif ci >= len(grid) - 1:
            ci, cw = len(grid) - 2, 1.0
        else:
            cw = (ctx - grid[ci]) / (grid[ci + 1] - grid[ci])
        grid = self._pre
        pi = bisect_right(grid, prefill_tokens) - 1
        if pi < 0:
            pi, pw = 0, 0.0
        elif pi >= len(grid) - 1:
            pi, pw = len(grid) - 2, 1.0
        else:
            pw = (prefill_tokens - grid[pi]) / (grid[pi + 1] - grid[pi])
        lo, hi = self._step[n][ci], self._step[n][ci + 1]
        step_s = (lo[pi] * (1 - cw) + hi[pi] * cw) * (1 - pw) + (lo[pi + 1] * (1 - cw) + hi[pi + 1] * cw) * pw
        lo, hi = self._power[n][ci], self._power[n][ci + 1]
        power_w = (lo[pi] * (1 - cw) + hi[pi] * cw) * (1 - pw) + (lo[pi + 1] * (1 - cw) + hi[pi + 1] * cw) * pw
        return step_s, power_w


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
