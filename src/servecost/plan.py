"""`servecost plan`: for each accelerator, the cheapest deployment that gives every user the speed.

For N concurrent users at S output tokens/s each: search every deployment (search.py), keep those
that fit and give >= S tokens/s per user, take the lowest $/Mtok, and size the fleet:
    replicas = ceil(N / batch),   chips = replicas * chips_per_replica
so chips * output_tokens_per_s_per_chip >= N * S.
"""

from dataclasses import dataclass, field

import numpy as np

from . import economics, hardware, memory, models
from .bands import backing, cost_band, evidence_family, rate_band, time_band
from .economics import Assumptions
from .efficiency import DEFAULT, Efficiency
from .hardware import Accelerator
from .models import ModelSpec
from .params import active_params, total_params
from .roofline import Precision
from .profiles import Profiles, calibrated, shipped
from .search import Points, evaluate, variants
from .units import GB


@dataclass(frozen=True)
class Scenario:
    model: str = "kimi-k2"
    users: int = 1_000_000
    speed_tokens_per_s: float = 50.0
    input_tokens: int = 2000          # a chat turn with its history
    output_tokens: int = 500
    hardware: tuple[str, ...] = ()    # empty: the whole catalogue
    weight_dtype: str = ""            # empty: the model's native dtypes
    expert_dtype: str = ""
    kv_dtype: str = "bf16"
    engine: str = ""                  # serving engine whose calibrated factors apply; empty: all-engine default
    precisions: str = "native"        # "native": the given dtypes; "all": also fp8 / fp4 / int4 and fp8 KV
    speculation: bool = True          # MTP speculative decoding for models that ship MTP heads
    disaggregation: bool = True       # separate prefill and decode pools as well as aggregated serving


@dataclass
class PlanResult:
    scenario: dict
    model: dict
    assumptions: dict
    options: list[dict] = field(default_factory=list)
    infeasible: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"scenario": self.scenario, "model": self.model, "assumptions": self.assumptions,
                "options": self.options, "infeasible": self.infeasible}


def precision_for(m: ModelSpec, sc: Scenario) -> Precision:
    return Precision.resolve(m, sc.weight_dtype, sc.expert_dtype, sc.kv_dtype)


def _option(hw: Accelerator, pts: Points, i: int, sc: Scenario, a: Assumptions) -> dict:
    batch, cpr = float(pts.batch[i]), int(pts.chips_per_replica[i])
    replicas = int(np.ceil(sc.users / batch))
    prefill_chips = int(np.ceil(replicas * cpr * float(pts.prefill_chips_frac[i])))
    chips = replicas * cpr + prefill_chips
    power_w = float(pts.chip_power_w[i])
    usd_per_hour = float(pts.usd_per_hr_per_chip[i]) * chips
    tokens_per_s = float(pts.output_tokens_per_s_per_chip[i]) * (replicas * cpr) * (1 + float(pts.prefill_chips_frac[i]))
    hardware_capex = chips * hw.capex_usd
    facility_capex = chips * hw.load_w * a.pue * a.facility_usd_per_w
    return {
        "hardware": hw.id, "vendor": hw.vendor, "name": hw.name, "calibrated": calibrated(hw.id),
        "chips": chips, "chips_per_replica": cpr, "replicas": replicas, "batch_per_replica": int(batch),
        "tp": int(pts.tp[i]), "dp_attn": int(pts.dp_attn[i]), "pp": int(pts.pp[i]), "ep": int(pts.ep[i]),
        "mode": "disaggregated" if pts.disaggregated[i] else "aggregated", "prefill_chips": prefill_chips,
        "draft_tokens": int(pts.draft_tokens[i]),
        "weight_dtype": str(pts.weight_dtype[i]), "expert_dtype": str(pts.expert_dtype[i]),
        "kv_dtype": str(pts.kv_dtype[i]),
        "tokens_per_s_per_user": float(pts.tokens_per_s_per_user[i]),
        "output_tokens_per_s_per_chip": float(pts.output_tokens_per_s_per_chip[i]),
        "ttft_s": float(pts.ttft_s[i]), "tpot_s": float(pts.tpot_s[i]),
        "ttft_s_band": time_band(float(pts.ttft_s[i]), "ttft"),
        "tpot_s_band": time_band(float(pts.tpot_s[i]), "tpot", fam := evidence_family(hw)),
        "tokens_per_s_per_user_band": rate_band(float(pts.tokens_per_s_per_user[i]), fam),
        "output_tokens_per_s_per_chip_band": rate_band(float(pts.output_tokens_per_s_per_chip[i]), fam),
        "backing": backing(hw),
        "chip_power_w": power_w,
        # provisioned: the facility a datacentre planner builds holds every system at its load power
        "power_mw": float(economics.facility_mw(chips, hw.load_w, a)),
        "average_power_mw": float(economics.facility_mw(chips, power_w, a)),
        "capex_usd": hardware_capex + facility_capex if a.pricing == "own" else 0.0,
        "hardware_capex_usd": hardware_capex, "facility_capex_usd": facility_capex,
        "usd_per_hour": usd_per_hour,
        "usd_per_mtok_output": (usd_mtok := float(economics.usd_per_mtok(usd_per_hour, tokens_per_s, a))),
        "usd_per_mtok_output_band": cost_band(usd_mtok, fam),
        # the same $/hour split by what it serves: prompts (input tokens) and generation (output tokens)
        "usd_per_mtok_input_split": float(economics.usd_per_mtok(
            usd_per_hour * float(pts.prefill_cost_frac[i]), tokens_per_s * sc.input_tokens / sc.output_tokens, a)),
        "usd_per_mtok_output_split": float(economics.usd_per_mtok(
            usd_per_hour * (1 - float(pts.prefill_cost_frac[i])), tokens_per_s, a)),
        "usd_per_user_month": float(economics.usd_per_user_month(usd_per_hour, sc.users)),
        "cost_breakdown_usd_per_hour": economics.cost_breakdown(hw, chips, power_w, a),
    }


def _infeasible(m: ModelSpec, hw: Accelerator, pts: Points, sc: Scenario, prec: Precision) -> dict:
    if not pts.fits.any():
        need_gb = memory.weight_bytes(m, prec.weight, prec.expert) / GB
        return {"hardware": hw.id, "vendor": hw.vendor, "name": hw.name,
                "reason": f"model does not fit: {need_gb:,.0f} GB of weights plus one request's KV exceed "
                          f"{hw.mem_bytes / GB:,.2f} GB per chip x the largest replica searched; "
                          "try a lower --weight-dtype",
                "max_tokens_per_s_per_user": 0.0}
    best = float(pts.tokens_per_s_per_user[pts.fits].max())
    return {"hardware": hw.id, "vendor": hw.vendor, "name": hw.name,
            "reason": f"speed unreachable: at most {best:,.1f} tokens/s per user (asked {sc.speed_tokens_per_s:g})",
            "max_tokens_per_s_per_user": best}


def plan_one(m: ModelSpec, hw: Accelerator, sc: Scenario, a: Assumptions, eff: Efficiency = DEFAULT):
    """(option, None) with the cheapest deployment on `hw` that meets the speed, or (None, why not)."""
    return choose(m, hw, search_points(m, hw, sc, a, eff), sc, a)


def choose(m: ModelSpec, hw: Accelerator, pts: Points, sc: Scenario, a: Assumptions):
    """The cheapest searched deployment that gives every user the speed, or why there is none."""
    ok = pts.fits & (pts.tokens_per_s_per_user >= sc.speed_tokens_per_s)
    if a.pricing == "cloud" and not hw.cloud_usd_per_hr > 0:
        return None, {"hardware": hw.id, "vendor": hw.vendor, "name": hw.name, "max_tokens_per_s_per_user": 0.0,
                      "reason": "no published cloud rental price; use --pricing own"}
    if not ok.any():
        return None, _infeasible(m, hw, pts, sc, precision_for(m, sc))
    i = int(np.argmin(np.where(ok, pts.usd_per_mtok, np.inf)))
    return _option(hw, pts, i, sc, a), None


def search_points(m: ModelSpec, hw: Accelerator, sc: Scenario, a: Assumptions, eff: Efficiency) -> Points:
    """Every deployment the scenario allows on `hw`: the one search that plan and frontier share."""
    vs = variants(m, hw, precision_for(m, sc), sc.precisions, sc.speculation, sc.disaggregation)
    return evaluate(m, hw, vs, sc.input_tokens, sc.output_tokens, a, eff)


def model_summary(m: ModelSpec) -> dict:
    return {"id": m.id, "name": m.name, "total_params": total_params(m), "active_params": active_params(m),
            "weight_dtype": m.weight_dtype, "expert_dtype": m.expert_dtype,
            "weight_gb": memory.weight_bytes(m, m.weight_dtype, m.expert_dtype) / GB}


def plan(sc: Scenario, a: Assumptions = Assumptions(), profiles: Profiles | None = None,
         progress=None) -> PlanResult:
    """Cheapest feasible deployment per accelerator, sorted by $/Mtok; the rest with the reason."""
    profiles = profiles or shipped()
    m = models.get(sc.model)
    hws = hardware.select(sc.hardware)
    efficiency = {hw.id: profiles.get(sc.engine, hw) for hw in hws}
    shown = efficiency[hws[0].id]
    result = PlanResult(scenario=sc.__dict__ | {"hardware": [h.id for h in hws]}, model=model_summary(m),
                        assumptions=a.as_dict() | {"engine": sc.engine or "any (default profile)",
                                                   "efficiency": shown.as_dict(),
                                                   "efficiency_differs_for": [h.id for h in hws
                                                                              if efficiency[h.id] != shown]})
    for hw in hws:
        option, why_not = plan_one(m, hw, sc, a, efficiency[hw.id])
        (result.options.append(option) if option else result.infeasible.append(why_not))
        if progress:
            progress(hw.id)
    result.options.sort(key=lambda o: o["usd_per_mtok_output"])
    result.infeasible.sort(key=lambda o: -o["max_tokens_per_s_per_user"])
    return result
