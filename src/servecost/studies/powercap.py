"""Power-capped planning: with B megawatts of facility power, how many users at each speed?

Each deployment turns facility watts into output tokens: tokens/s per W = tokens/s per chip /
(chip power x PUE). At speed S the best deployment serves
    users(S) = B * max{tokens/s per W : tokens/s per user >= S} / S
so a bigger budget never serves fewer users, and the accelerator with the most tokens per watt at
that speed wins the budget.
"""

import numpy as np

from .. import economics
from ..economics import Assumptions
from ..search import Points


def users_at_speeds(pts: Points, a: Assumptions, budget_mw: float, speeds, hw) -> tuple[np.ndarray, np.ndarray]:
    """(users served, tokens/s per MW) at each speed; 0 where the speed is out of reach."""
    speeds = np.asarray(speeds, dtype=float)
    per_mw = economics.tokens_per_s_per_mw(pts.output_tokens_per_s_per_chip, hw, a)
    ok = pts.fits[None, :] & (pts.tokens_per_s_per_user[None, :] >= speeds[:, None])
    best = np.max(np.where(ok, per_mw[None, :], 0.0), axis=1)
    return budget_mw * best / speeds, best


def power_table(m, hws, sc, a: Assumptions, profiles, budget_mw: float, speeds) -> dict[str, dict]:
    """Per accelerator: users served and tokens/s per MW at each speed (the `power` command)."""
    from ..plan import search_points
    table = {}
    for hw in hws:
        pts = search_points(m, hw, sc, a, profiles.get(sc.engine, hw.id))
        users, per_mw = users_at_speeds(pts, a, budget_mw, speeds, hw)
        table[hw.id] = {"users": users.tolist(), "tokens_per_s_per_mw": per_mw.tolist()}
    return table
