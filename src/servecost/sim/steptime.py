"""Step times of one replica, tabulated once from the step-time engine and looked up per step.

A step decodes n sequences at mean context c and prefills P prompt tokens (chunked prefill). The
table spans n = 0..max_seqs exactly, c and P on geometric grids (2^(1/4) apart); a lookup takes the
nearest grid point above, so a step is never made cheaper than the engine says.
"""

from dataclasses import dataclass

import numpy as np

from ..efficiency import Efficiency
from ..hardware import Accelerator
from ..models import ModelSpec
from ..parallel import Parallel
from ..power import chip_power_w
from ..roofline import Precision, step

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

    def lookup(self, n: int, ctx: float, prefill_tokens: float) -> tuple[float, float]:
        ci = min(int(np.searchsorted(self.ctx_grid, ctx)), self.ctx_grid.size - 1)
        pi = 0 if prefill_tokens <= 0 else min(int(np.searchsorted(self.prefill_grid, prefill_tokens)) + 1,
                                               self.prefill_grid.size)   # index 0 is "no prefill"
        return float(self.step_s[n, ci, pi]), float(self.power_w[n, ci, pi])


def build(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, eff: Efficiency, max_seqs: int,
          max_ctx: float, token_budget: int, mean_prompt: float) -> StepTable:
    """Tabulate step time and chip power over decode batch, context and prefill tokens."""
    n = np.arange(max_seqs + 1, dtype=float)[:, None, None]
    ctx_grid = _geometric(16, max(max_ctx, 32))
    prefill_grid = np.concatenate([[0.0], _geometric(16, max(token_budget, 32))])
    c = ctx_grid[None, :, None]
    p = prefill_grid[None, None, :]
    s = step(m, hw, par, prec, decode_seqs=n, context_tokens=c, prefill_seqs=p / mean_prompt,
             prefill_tokens=mean_prompt, eff=eff)
    shape = (n.size, ctx_grid.size, prefill_grid.size)
    step_s = np.broadcast_to(s.step_s, shape).copy()
    power = np.broadcast_to(chip_power_w(hw, s.flops_util_frac, s.mem_util_frac), shape).copy()
    return StepTable(step_s, power, ctx_grid, prefill_grid[1:], int(par.chips))
