"""The batch tier: what asynchronous work with a deadline costs, beside interactive work.

Interactive: the cheapest deployment that gives every user the speed (plan.choose).
Batch, dedicated hardware: the cheapest deployment of all whose requests finish within the
deadline, E2E = TTFT + O * TPOT <= deadline, whatever the speed per user.
Batch, trough filling: the interactive fleet is sized for the peak, so at mean load a fraction
1 - 1/(peak/mean) of it is idle. Batch work run there, on the same layout at its highest-throughput
batch, costs only the extra energy (the chips, building and staff are paid by the interactive tier).
    justified discount = 1 - cost_batch / cost_interactive
Justified per hardware family (a family's cheapest batch against its cheapest interactive option) and
against the cheapest interactive option of all (what a buyer of interactive tokens pays elsewhere).
"""

from dataclasses import dataclass

import numpy as np

from ..economics import Assumptions
from ..hardware import Accelerator
from ..models import ModelSpec
from ..plan import Scenario, choose
from ..search import Deployment, Points
from ..serving import e2e_s
from ..units import HOUR_S, MTOK


@dataclass(frozen=True)
class BatchTier:
    hardware: str
    family: str
    interactive_usd_per_mtok: float
    batch_usd_per_mtok: float              # dedicated hardware, deadline met
    trough_usd_per_mtok: float             # marginal energy on the interactive fleet's idle chips
    trough_mtok_per_day_per_chip: float    # batch output that fits in the troughs, per interactive chip
    dedicated_discount_frac: float
    trough_discount_frac: float
    batch_deployment: Deployment
    batch_tokens_per_s_per_user: float
    batch_e2e_s: float
    interactive_deployment: Deployment
    interactive_tokens_per_s_per_user: float

    def as_dict(self) -> dict:
        """The tier as JSON and CSV print it."""
        b, i = self.batch_deployment, self.interactive_deployment
        costs = ("hardware", "family", "interactive_usd_per_mtok", "batch_usd_per_mtok", "trough_usd_per_mtok",
                 "trough_mtok_per_day_per_chip", "dedicated_discount_frac", "trough_discount_frac")
        return {k: getattr(self, k) for k in costs} | {
            "batch_deployment": {"chips_per_replica": b.chips_per_replica, "tp": b.tp, "dp_attn": b.dp_attn,
                                 "pp": b.pp, "ep": b.ep, "batch": b.batch_per_replica,
                                 "tokens_per_s_per_user": self.batch_tokens_per_s_per_user, "e2e_s": self.batch_e2e_s,
                                 "weight_dtype": b.weight_dtype, "kv_dtype": b.kv_dtype, "mode": b.mode},
            "interactive_deployment": {"chips_per_replica": i.chips_per_replica, "tp": i.tp, "dp_attn": i.dp_attn,
                                       "pp": i.pp, "ep": i.ep, "batch_per_replica": i.batch_per_replica,
                                       "tokens_per_s_per_user": self.interactive_tokens_per_s_per_user,
                                       "mode": i.mode}}


def dedicated_batch_index(pts: Points, output_tokens: int, deadline_s: float) -> int | None:
    """The cheapest fitting point whose requests finish within the deadline (None: none does)."""
    ok = pts.fits & (e2e_s(pts.ttft_s, pts.tpot_s, output_tokens) <= deadline_s)
    if not ok.any():
        return None
    return int(np.argmin(np.where(ok, pts.usd_per_mtok, np.inf)))


def trough_usd_per_mtok(hw: Accelerator, pts: Points, deployment: Deployment, a: Assumptions) -> tuple[float, float]:
    """Marginal $/Mtok of batch work on the interactive deployment's layout at its best throughput,
    and the tokens/s per chip it runs at: the extra energy above idle, over the tokens."""
    same = pts.fits & deployment.same_but_batch(pts)
    i = int(np.argmax(np.where(same, pts.output_tokens_per_s_per_chip, -1.0)))
    extra_w = pts.chip_power_w[i] - hw.idle_wall_w   # the chips would idle otherwise
    energy_usd_per_hr = extra_w * a.pue / 1e3 * a.usd_per_kwh if a.pricing == "own" else 0.0
    tokens_per_hr = pts.output_tokens_per_s_per_chip[i] * HOUR_S
    return float(energy_usd_per_hr / tokens_per_hr * MTOK), float(pts.output_tokens_per_s_per_chip[i])


def batch_tier(m: ModelSpec, hw: Accelerator, pts: Points, sc: Scenario, a: Assumptions, deadline_s: float,
               peak_to_mean: float) -> BatchTier | None:
    """Interactive vs batch cost on `hw` from one search's points; None when the speed is unreachable."""
    option, _ = choose(m, hw, pts, sc, a)
    j = dedicated_batch_index(pts, sc.output_tokens, deadline_s)
    if option is None or j is None:
        return None
    interactive = option.usd_per_mtok_output
    batch = float(pts.usd_per_mtok[j])
    trough, trough_tps = trough_usd_per_mtok(hw, pts, option.deployment, a)
    idle_frac = 1 - 1 / peak_to_mean
    return BatchTier(
        hardware=hw.id, family=hw.family, interactive_usd_per_mtok=interactive, batch_usd_per_mtok=batch,
        trough_usd_per_mtok=trough, trough_mtok_per_day_per_chip=trough_tps * idle_frac * 24 * HOUR_S / MTOK,
        dedicated_discount_frac=1 - batch / interactive, trough_discount_frac=1 - trough / interactive,
        batch_deployment=Deployment.at(pts, j), batch_tokens_per_s_per_user=float(pts.tokens_per_s_per_user[j]),
        batch_e2e_s=float(e2e_s(pts.ttft_s[j], pts.tpot_s[j], sc.output_tokens)),
        interactive_deployment=option.deployment, interactive_tokens_per_s_per_user=option.tokens_per_s_per_user)


def deadline_curve(pts: Points, output_tokens: int, deadlines_s: np.ndarray) -> np.ndarray:
    """Dedicated batch $/Mtok at each deadline (inf where none is met): never rises as the deadline loosens."""
    ok = pts.fits[None, :] & (e2e_s(pts.ttft_s, pts.tpot_s, output_tokens)[None, :]
                              <= np.asarray(deadlines_s)[:, None])
    return np.min(np.where(ok, pts.usd_per_mtok[None, :], np.inf), axis=1)


def tiers(m: ModelSpec, hws, sc: Scenario, a: Assumptions, profiles, deadline_s: float, peak_to_mean: float,
          deadlines_s: np.ndarray | None = None) -> tuple[list, dict]:
    """The batch tier of every accelerator that can serve the scenario, and (when `deadlines_s` is
    given) each one's dedicated batch cost against deadline beside its interactive cost."""
    from ..plan import search_points
    found, curves = [], {}
    for hw in hws:
        pts = search_points(m, hw, sc, a, profiles.get(sc.engine, hw.id))
        tier = batch_tier(m, hw, pts, sc, a, deadline_s, peak_to_mean)
        if tier:
            found.append(tier)
            if deadlines_s is not None:
                curves[hw.id] = (deadline_curve(pts, sc.output_tokens, deadlines_s), tier.interactive_usd_per_mtok)
    return found, curves


def justified(found: list[BatchTier]) -> dict:
    """The batch discount per hardware family and against the cheapest interactive option of all."""
    if not found:
        return {"cheapest_interactive": None, "by_family": []}
    best = min(found, key=lambda t: t.interactive_usd_per_mtok)
    families = []
    for fam in sorted({t.family for t in found}):
        mine = [t for t in found if t.family == fam]
        batch = min(mine, key=lambda t: t.batch_usd_per_mtok)
        inter = min(mine, key=lambda t: t.interactive_usd_per_mtok)
        families.append({"family": fam, "batch_hardware": batch.hardware, "batch_usd_per_mtok": batch.batch_usd_per_mtok,
                         "interactive_hardware": inter.hardware,
                         "interactive_usd_per_mtok": inter.interactive_usd_per_mtok,
                         "discount_frac": 1 - batch.batch_usd_per_mtok / inter.interactive_usd_per_mtok,
                         "discount_vs_cheapest_interactive_frac":
                             1 - batch.batch_usd_per_mtok / best.interactive_usd_per_mtok})
    return {"cheapest_interactive": {"hardware": best.hardware, "usd_per_mtok": best.interactive_usd_per_mtok},
            "by_family": families}
