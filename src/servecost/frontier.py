"""The throughput-interactivity frontier per accelerator: every deployment searched (search.py, the
same search `plan` picks from), then the Pareto-optimal points of tokens/s per user against output
tokens/s per chip, per MW of facility power, and per dollar, each with the deployment behind it."""

from dataclasses import dataclass, replace

import numpy as np

from . import economics
from .economics import Assumptions
from .plan import Option, Scenario, choose, search_points
from .profiles import Profiles, shipped
from .search import Points, pareto_mask

METRICS = {   # name: (label, unit, higher is better)
    "per_chip": ("output tokens/s per chip", "tok/s/chip", True),
    "per_mw": ("output tokens/s per provisioned MW of facility power", "tok/s/MW", True),
    "usd_per_mtok": ("cost per million output tokens", "$/Mtok", False),
}


@dataclass
class Curve:
    hardware: str
    vendor: str
    name: str
    points: dict          # metric -> list of point dicts along the frontier, by tokens/s per user
    plan_point: Option | None = None

    def as_dict(self) -> dict:
        return {"hardware": self.hardware, "vendor": self.vendor, "name": self.name, "points": self.points,
                "plan_point": self.plan_point.as_dict() if self.plan_point else None}


def metric_values(pts: Points, a: Assumptions, hw) -> dict[str, np.ndarray]:
    per_mw = economics.tokens_per_s_per_mw(pts.output_tokens_per_s_per_chip, hw, a)
    return {"per_chip": pts.output_tokens_per_s_per_chip, "per_mw": per_mw, "usd_per_mtok": pts.usd_per_mtok}


def _point(pts: Points, values: dict, i: int) -> dict:
    return {"tokens_per_s_per_user": float(pts.tokens_per_s_per_user[i]), "ttft_s": float(pts.ttft_s[i]),
            "tpot_s": float(pts.tpot_s[i]),
            **{k: float(v[i]) for k, v in values.items()},
            "chips_per_replica": int(pts.chips_per_replica[i]), "tp": int(pts.tp[i]), "dp_attn": int(pts.dp_attn[i]),
            "pp": int(pts.pp[i]), "ep": int(pts.ep[i]), "batch": int(pts.batch[i]),
            "mode": "disaggregated" if pts.disaggregated[i] else "aggregated",
            "prefill_chips_frac": float(pts.prefill_chips_frac[i]), "draft_tokens": int(pts.draft_tokens[i]),
            "speculation": str(pts.speculation[i]), "prefill_hardware": str(pts.prefill_hardware[i]),
            "prefill_layout": (f"{int(pts.prefill_chips_per_worker[i])} chips {int(pts.prefill_tp[i])}/"
                               f"{int(pts.prefill_dp_attn[i])}/{int(pts.prefill_pp[i])}/{int(pts.prefill_ep[i])}, "
                               f"{pts.prefill_budget_tokens[i]:,.0f} tok/step") if pts.disaggregated[i] else "",
            "weight_dtype": str(pts.weight_dtype[i]), "expert_dtype": str(pts.expert_dtype[i]),
            "kv_dtype": str(pts.kv_dtype[i])}


def curve_indices(pts: Points, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Indices of the Pareto-optimal fitting points per metric, ordered by tokens/s per user."""
    out = {}
    fit = np.flatnonzero(pts.fits)
    x = pts.tokens_per_s_per_user[fit]
    order = np.argsort(-x, kind="stable")   # one sort serves the three metrics
    for metric, (_, _, higher) in METRICS.items():
        y = values[metric][fit]
        keep = pareto_mask(x, y if higher else -y, order)
        idx = fit[keep]
        out[metric] = idx[np.argsort(pts.tokens_per_s_per_user[idx])]
    return out


def frontier(sc: Scenario, a: Assumptions = Assumptions(), profiles: Profiles | None = None,
             speed: float | None = None) -> list[Curve]:
    """One Curve per accelerator of `sc.hardware` (default: the catalogue); with `speed`, each curve
    also carries the deployment `plan` picks at that speed."""
    profiles = profiles or shipped()
    m = sc.model_spec()
    hws = sc.chips()
    curves = []
    from .plan import check_scenario
    check_scenario(m, sc)
    prefill_eff = profiles.get(sc.engine, sc.prefill_hardware) if sc.prefill_hardware else None
    for hw in hws:
        eff = profiles.get(sc.engine, hw)
        pts = search_points(m, hw, sc, a, eff, prefill_eff)
        values = metric_values(pts, a, hw)
        idx = curve_indices(pts, values)
        curve = Curve(hw.id, hw.vendor, hw.name, {k: [_point(pts, values, i) for i in v] for k, v in idx.items()})
        if speed:
            option, _ = choose(m, hw, pts, replace(sc, speed_tokens_per_s=speed), a)
            if option:
                per_chip = option.output_tokens_per_s_per_chip
                option = replace(option, metrics={
                    "per_chip": per_chip, "per_mw": float(economics.tokens_per_s_per_mw(per_chip, hw, a)),
                    "usd_per_mtok": option.usd_per_mtok_output})
            curve.plan_point = option
        curves.append(curve)
    return curves


def as_dict(curves: list[Curve], sc: Scenario, a: Assumptions, speed: float | None) -> dict:
    return {"scenario": sc.as_dict() | {"speed_tokens_per_s": speed}, "assumptions": a.as_dict(),
            "metrics": {k: {"label": v[0], "unit": v[1], "higher_is_better": v[2]} for k, v in METRICS.items()},
            "curves": [c.as_dict() for c in curves]}
