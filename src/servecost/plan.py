"""`servecost plan`: for each accelerator, the cheapest deployment that gives every user the speed.

For N concurrent users at S output tokens/s each: search every deployment (search.py), keep those
that fit and give >= S tokens/s per user, size each one's fleet
    replicas = ceil(N / batch),   decode chips = replicas * chips_per_replica
    prefill chips = ceil(decode chips * prefill_chips_frac / chips_per_worker) * chips_per_worker
and price the tokens asked for, N * S (at the average load), not the tokens the fleet could make:
    $/Mtok = fleet $/hour / (N * S * 3600 * load) * 1e6
One objective: the option with the lowest fleet $/hour is picked, and its $/Mtok times the demanded
Mtok/hour is its fleet $/hour; an option faster than asked is costed at what it costs (its extra
speed is shown, not credited).
"""

from dataclasses import dataclass, field, fields

import numpy as np

from . import economics, hardware, memory, models, prefix, speculative
from .bands import backing, cost_band, evidence_family, rate_band, time_band
from .economics import Assumptions
from .efficiency import DEFAULT, Efficiency
from .hardware import Accelerator
from .models import ModelSpec
from .params import active_params, total_params
from .roofline import Precision
from .profiles import Profiles, calibrated, shipped
from .errors import InputError
from .search import Deployment, Points, evaluate, prefill_pool, variants
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
    speculation_method: str = "auto"  # auto | none | mtp1 | mtp3 | eagle3 (speculative.CHOICES)
    prefix_cache_hit_frac: float = 0.0   # share of prompt tokens served from the prefix cache
    prefix_tokens: int = 0            # cached prefix each conversation keeps between turns (0: hit x input)
    prefill_hardware: str = ""        # disaggregated prefill pool on this accelerator (mixed fleet); "": the decode one
    daily_users: int = 0              # when sized from daily users: $/user/month per daily user
    expert_rebalancing: bool = True   # EPLB-style expert rebalancing at wide EP (imbalance.py)
    spec: ModelSpec | None = field(default=None, repr=False, compare=False)   # the model, resolved once
    accelerators: tuple[Accelerator, ...] = field(default=(), repr=False, compare=False)   # `hardware`, resolved once

    def model_spec(self) -> ModelSpec:
        """The model: the spec resolved at the boundary, else the catalogue id or config.json path."""
        return self.spec if self.spec is not None else models.get(self.model)

    def chips(self) -> list[Accelerator]:
        """The accelerators: those resolved at the boundary, else `hardware`'s ids (empty: the catalogue)."""
        return list(self.accelerators) if self.accelerators else hardware.select(self.hardware)

    def as_dict(self) -> dict:
        """The scenario as outputs print it (the model by the name it was given, chips by id)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("spec", "accelerators")}

    @property
    def cache(self) -> "prefix.PrefixCache":
        return prefix.check(self.prefix_cache_hit_frac, self.prefix_tokens, self.input_tokens)


@dataclass
class PlanResult:
    scenario: dict
    model: dict
    assumptions: dict
    options: list["Option"] = field(default_factory=list)
    infeasible: list["Infeasible"] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"scenario": self.scenario, "model": self.model, "assumptions": self.assumptions,
                "options": [o.as_dict() for o in self.options], "infeasible": [r.as_dict() for r in self.infeasible]}


def precision_for(m: ModelSpec, sc: Scenario) -> Precision:
    return Precision.resolve(m, sc.weight_dtype, sc.expert_dtype, sc.kv_dtype)


@dataclass(frozen=True)
class Fleet:
    """Chips, $/hour and demanded tokens of the fleets of some searched points (arrays)."""
    replicas: np.ndarray
    decode_chips: np.ndarray
    prefill_chips: np.ndarray
    usd_per_hour: np.ndarray
    demanded_tokens_per_s: float
    usd_per_mtok: np.ndarray          # of the demanded tokens

    @property
    def chips(self):
        return self.decode_chips + self.prefill_chips


def fleet(pts: Points, sc: Scenario, a: Assumptions, index=slice(None)) -> Fleet:
    """The fleet each point needs for the scenario's users (module docstring), priced per demanded token."""
    batch, cpr = pts.batch[index], pts.chips_per_replica[index]
    replicas = np.ceil(sc.users / batch)
    decode = replicas * cpr
    worker = np.maximum(pts.prefill_chips_per_worker[index], 1)
    prefill = np.where(pts.disaggregated[index], np.ceil(decode * pts.prefill_chips_frac[index] / worker) * worker, 0)
    usd = decode * pts.decode_usd_per_hr_per_chip[index] + prefill * pts.prefill_usd_per_hr_per_chip[index]
    demanded = sc.users * sc.speed_tokens_per_s
    return Fleet(replicas, decode, prefill, usd, demanded, economics.usd_per_mtok(usd, demanded, a))


def _domain(hw: Accelerator, chips: int) -> str:
    if chips <= hw.scaleup_domain_chips:
        return f"inside one {hw.scaleup_domain_chips}-chip scale-up domain"
    return f"across {int(np.ceil(chips / hw.scaleup_domain_chips))} scale-up domains"


@dataclass(frozen=True)
class PrefillWorker:
    """A disaggregated option's prefill pool: its accelerator, worker layout and workers."""
    hardware: str
    chips_per_worker: int
    workers: int
    tp: int
    dp_attn: int
    pp: int
    ep: int
    budget_tokens: float                 # computed prompt tokens per step per worker
    domain: str
    mixed: bool                          # on another accelerator than the decode pool

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Option:
    """The deployment `plan` picks on one accelerator, its fleet for the scenario, and what it costs."""
    hardware: str
    vendor: str
    name: str
    calibrated: bool
    deployment: Deployment
    prefill: PrefillWorker | None
    replicas: int
    decode_chips: int
    prefill_chips: int
    prefix_cache_hit_frac: float
    tokens_per_s_per_user: float
    speed_headroom_frac: float           # achieved / asked speed - 1 (shown, not credited)
    output_tokens_per_s_per_chip: float
    demanded_tokens_per_s: float
    demanded_mtok_per_hour: float
    ttft_s: float
    tpot_s: float
    bands: dict                          # 90% bands: ttft_s, tpot_s, tokens_per_s_per_user, ... -> [low, high]
    backing: dict
    chip_power_w: float
    power_mw: float                      # provisioned: every system at its load wall power
    average_power_mw: float
    hardware_capex_usd: float
    facility_capex_usd: float
    capex_usd: float                     # own pricing: hardware + facility; cloud: 0
    usd_per_hour: float
    usd_per_mtok_output: float           # of the demanded tokens
    usd_per_mtok_input_split: float
    usd_per_mtok_output_split: float
    usd_per_user_month: float
    usd_per_user_month_basis: str
    cost_breakdown_usd_per_hour: dict
    usd_per_mtok_output_mc: dict | None = None   # Monte Carlo summary (plan --monte-carlo)
    metrics: dict | None = None                  # frontier: the pick's per-chip, per-MW and $/Mtok figures

    @property
    def chips(self) -> int:
        return self.decode_chips + self.prefill_chips

    def as_dict(self) -> dict:
        """The option as JSON and CSV print it."""
        d, b = self.deployment, self.bands
        out = {"hardware": self.hardware, "vendor": self.vendor, "name": self.name, "calibrated": self.calibrated,
               "chips": self.chips, "chips_per_replica": d.chips_per_replica, "replicas": self.replicas,
               "batch_per_replica": d.batch_per_replica, "tp": d.tp, "dp_attn": d.dp_attn, "pp": d.pp, "ep": d.ep,
               "mode": d.mode, "prefill_chips": self.prefill_chips, "decode_chips": self.decode_chips,
               "prefill_decode_chip_ratio": self.prefill_chips / self.decode_chips,
               "prefill": self.prefill.as_dict() if self.prefill else None, "draft_tokens": d.draft_tokens,
               "speculation": d.speculation, "prefix_cache_hit_frac": self.prefix_cache_hit_frac,
               "weight_dtype": d.weight_dtype, "expert_dtype": d.expert_dtype, "kv_dtype": d.kv_dtype,
               "tokens_per_s_per_user": self.tokens_per_s_per_user, "speed_headroom_frac": self.speed_headroom_frac,
               "output_tokens_per_s_per_chip": self.output_tokens_per_s_per_chip,
               "demanded_tokens_per_s": self.demanded_tokens_per_s,
               "demanded_tokens_per_s_per_chip": self.demanded_tokens_per_s / self.chips,
               "demanded_mtok_per_hour": self.demanded_mtok_per_hour, "ttft_s": self.ttft_s, "tpot_s": self.tpot_s,
               "ttft_s_band": b["ttft_s"], "tpot_s_band": b["tpot_s"],
               "tokens_per_s_per_user_band": b["tokens_per_s_per_user"],
               "output_tokens_per_s_per_chip_band": b["output_tokens_per_s_per_chip"], "backing": self.backing,
               "chip_power_w": self.chip_power_w, "power_mw": self.power_mw, "average_power_mw": self.average_power_mw,
               "capex_usd": self.capex_usd, "hardware_capex_usd": self.hardware_capex_usd,
               "facility_capex_usd": self.facility_capex_usd, "usd_per_hour": self.usd_per_hour,
               "usd_per_mtok_output": self.usd_per_mtok_output, "usd_per_mtok_output_band": b["usd_per_mtok_output"],
               "usd_per_mtok_input_split": self.usd_per_mtok_input_split,
               "usd_per_mtok_output_split": self.usd_per_mtok_output_split,
               "usd_per_user_month": self.usd_per_user_month, "usd_per_user_month_basis": self.usd_per_user_month_basis,
               "cost_breakdown_usd_per_hour": self.cost_breakdown_usd_per_hour}
        if self.usd_per_mtok_output_mc is not None:
            out["usd_per_mtok_output_mc"] = self.usd_per_mtok_output_mc
        if self.metrics is not None:
            out["metrics"] = self.metrics
        return out


@dataclass(frozen=True)
class Infeasible:
    """An accelerator that cannot serve the scenario, why, and the fastest speed it reaches."""
    hardware: str
    vendor: str
    name: str
    reason: str
    max_tokens_per_s_per_user: float

    def as_dict(self) -> dict:
        return {"hardware": self.hardware, "vendor": self.vendor, "name": self.name, "reason": self.reason,
                "max_tokens_per_s_per_user": self.max_tokens_per_s_per_user}


def _prefill(pts: Points, i: int, prefill_chips: int, hw: Accelerator) -> PrefillWorker | None:
    if not pts.disaggregated[i]:
        return None
    phw = hardware.get(str(pts.prefill_hardware[i]))
    cpw = int(pts.prefill_chips_per_worker[i])
    return PrefillWorker(hardware=phw.id, chips_per_worker=cpw, workers=int(prefill_chips // max(cpw, 1)),
                         tp=int(pts.prefill_tp[i]), dp_attn=int(pts.prefill_dp_attn[i]), pp=int(pts.prefill_pp[i]),
                         ep=int(pts.prefill_ep[i]), budget_tokens=float(pts.prefill_budget_tokens[i]),
                         domain=_domain(phw, cpw), mixed=phw.id != hw.id)


def _breakdown(hw, phw, decode_chips, prefill_chips, decode_w, a) -> dict:
    out = economics.cost_breakdown(hw, decode_chips, decode_w, a)
    if prefill_chips:
        for k, v in economics.cost_breakdown(phw, prefill_chips, phw.load_w, a).items():
            out[k] = out.get(k, 0.0) + v
    return out


def _bands(pts: Points, i: int, usd_per_mtok: float, hw: Accelerator) -> dict:
    """The 90% bands of an option's times, speeds and cost (bands.py): its family's evidence where it has one."""
    fam = evidence_family(hw)
    return {"ttft_s": time_band(float(pts.ttft_s[i]), "ttft"), "tpot_s": time_band(float(pts.tpot_s[i]), "tpot", fam),
            "tokens_per_s_per_user": rate_band(float(pts.tokens_per_s_per_user[i]), fam),
            "output_tokens_per_s_per_chip": rate_band(float(pts.output_tokens_per_s_per_chip[i]), fam),
            "usd_per_mtok_output": cost_band(usd_per_mtok, fam)}


def _option(hw: Accelerator, pts: Points, i: int, sc: Scenario, a: Assumptions) -> Option:
    f = fleet(pts, sc, a, np.array([i]))
    replicas, decode_chips, prefill_chips = int(f.replicas[0]), int(f.decode_chips[0]), int(f.prefill_chips[0])
    frac = float(pts.prefill_chips_frac[i])
    pre = _prefill(pts, i, prefill_chips, hw)
    phw = hardware.get(pre.hardware) if pre else hw
    power_w = float(pts.chip_power_w[i])
    decode_w = power_w * (1 + frac) - frac * phw.load_w if pre else power_w
    usd_per_hour, usd_mtok, demanded = float(f.usd_per_hour[0]), float(f.usd_per_mtok[0]), f.demanded_tokens_per_s
    hardware_capex = decode_chips * hw.capex_usd + prefill_chips * phw.capex_usd
    facility_capex = (decode_chips * hw.load_w + prefill_chips * phw.load_w) * a.pue * a.facility_usd_per_w
    prompts_frac = float(pts.prefill_cost_frac[i])   # the $/hour split by what it serves: prompts and generation
    return Option(
        hardware=hw.id, vendor=hw.vendor, name=hw.name, calibrated=calibrated(hw.id), deployment=Deployment.at(pts, i),
        prefill=pre, replicas=replicas, decode_chips=decode_chips, prefill_chips=prefill_chips,
        prefix_cache_hit_frac=sc.prefix_cache_hit_frac, tokens_per_s_per_user=float(pts.tokens_per_s_per_user[i]),
        speed_headroom_frac=float(pts.tokens_per_s_per_user[i]) / sc.speed_tokens_per_s - 1,
        output_tokens_per_s_per_chip=float(pts.output_tokens_per_s_per_chip[i]), demanded_tokens_per_s=demanded,
        demanded_mtok_per_hour=demanded * 3600 * a.load_frac / 1e6,
        ttft_s=float(pts.ttft_s[i]), tpot_s=float(pts.tpot_s[i]), bands=_bands(pts, i, usd_mtok, hw),
        backing=backing(hw), chip_power_w=power_w,
        # provisioned: the facility a datacentre planner builds holds every system at its load power
        power_mw=float(economics.facility_mw(decode_chips, hw.load_w, a)
                       + economics.facility_mw(prefill_chips, phw.load_w, a)),
        average_power_mw=float(economics.facility_mw(decode_chips, decode_w, a)
                               + economics.facility_mw(prefill_chips, phw.load_w, a)),
        hardware_capex_usd=hardware_capex, facility_capex_usd=facility_capex,
        capex_usd=hardware_capex + facility_capex if a.pricing == "own" else 0.0,
        usd_per_hour=usd_per_hour, usd_per_mtok_output=usd_mtok,
        usd_per_mtok_input_split=float(economics.usd_per_mtok(
            usd_per_hour * prompts_frac, demanded * sc.input_tokens / sc.output_tokens, a)),
        usd_per_mtok_output_split=float(economics.usd_per_mtok(usd_per_hour * (1 - prompts_frac), demanded, a)),
        usd_per_user_month=float(economics.usd_per_user_month(usd_per_hour, sc.daily_users or sc.users)),
        usd_per_user_month_basis="daily user" if sc.daily_users else "concurrent stream",
        cost_breakdown_usd_per_hour=_breakdown(hw, phw, decode_chips, prefill_chips, decode_w, a))


def _infeasible(m: ModelSpec, hw: Accelerator, pts: Points, sc: Scenario, prec: Precision) -> Infeasible:
    if not pts.fits.any():
        need_gb = memory.weight_bytes(m, prec.weight, prec.expert) / GB
        return Infeasible(hw.id, hw.vendor, hw.name,
                          f"model does not fit: {need_gb:,.0f} GB of weights plus one request's KV exceed "
                          f"{hw.mem_bytes / GB:,.2f} GB per chip x the largest replica searched; "
                          "try a lower --weight-dtype", 0.0)
    best = float(pts.tokens_per_s_per_user[pts.fits].max())
    return Infeasible(hw.id, hw.vendor, hw.name,
                      f"speed unreachable: at most {best:,.1f} tokens/s per user (asked {sc.speed_tokens_per_s:g})",
                      best)


def plan_one(m: ModelSpec, hw: Accelerator, sc: Scenario, a: Assumptions, eff: Efficiency = DEFAULT,
             prefill_eff: Efficiency | None = None):
    """(option, None) with the cheapest deployment on `hw` that meets the speed, or (None, why not)."""
    return choose(m, hw, search_points(m, hw, sc, a, eff, prefill_eff), sc, a)


def check_scenario(m: ModelSpec, sc: Scenario) -> None:
    """Inputs only the model can judge: the speculation method, the cache, the prefill chip (InputError)."""
    speculative.defaults(m, sc.speculation_method)
    sc.cache
    if sc.prefill_hardware:
        phw = hardware.get(sc.prefill_hardware, "prefill_hardware")
        prec = precision_for(m, sc)
        if prefill_pool(m, phw, prec, sc.input_tokens, DEFAULT, sc.cache) is None:
            need_gb = memory.weight_bytes(m, prec.weight, prec.expert) / GB
            raise InputError(f"prefill_hardware={phw.id!r} cannot hold {m.id}: {need_gb:,.0f} GB of weights plus a "
                             f"prompt's KV exceed {phw.mem_bytes / GB:,.0f} GB per chip x the largest worker "
                             "searched; pick a chip with more memory or a lower --weight-dtype")


def choose(m: ModelSpec, hw: Accelerator, pts: Points, sc: Scenario, a: Assumptions):
    """The cheapest searched deployment that gives every user the speed, or why there is none."""
    ok = pts.fits & (pts.tokens_per_s_per_user >= sc.speed_tokens_per_s)
    if a.pricing == "cloud" and not hw.cloud_usd_per_hr > 0:
        return None, Infeasible(hw.id, hw.vendor, hw.name, "no published cloud rental price; use --pricing own", 0.0)
    if not ok.any():
        return None, _infeasible(m, hw, pts, sc, precision_for(m, sc))
    idx = np.flatnonzero(ok)
    # the cheapest fleet for the users asked; of equal fleets (a few users fill any batch), the most productive
    i = int(idx[np.lexsort((pts.usd_per_mtok[idx], fleet(pts, sc, a, idx).usd_per_hour))[0]])
    return _option(hw, pts, i, sc, a), None


def search_points(m: ModelSpec, hw: Accelerator, sc: Scenario, a: Assumptions, eff: Efficiency,
                  prefill_eff: Efficiency | None = None) -> Points:
    """Every deployment the scenario allows on `hw`: the one search that plan and frontier share."""
    phw = hardware.get(sc.prefill_hardware, "prefill_hardware") if sc.prefill_hardware else None
    vs = variants(m, hw, precision_for(m, sc), sc.precisions, sc.speculation, sc.disaggregation,
                  sc.speculation_method, phw)
    return evaluate(m, hw, vs, sc.input_tokens, sc.output_tokens, a, eff, cache=sc.cache,
                    rebalanced=sc.expert_rebalancing, prefill_eff=prefill_eff)


def model_summary(m: ModelSpec) -> dict:
    return {"id": m.id, "name": m.name, "total_params": total_params(m), "active_params": active_params(m),
            "weight_dtype": m.weight_dtype, "expert_dtype": m.expert_dtype,
            "weight_gb": memory.weight_bytes(m, m.weight_dtype, m.expert_dtype) / GB}


def plan(sc: Scenario, a: Assumptions = Assumptions(), profiles: Profiles | None = None,
         progress=None) -> PlanResult:
    """Cheapest feasible deployment per accelerator, sorted by $/Mtok; the rest with the reason."""
    profiles = profiles or shipped()
    m = sc.model_spec()
    hws = sc.chips()
    efficiency = {hw.id: profiles.get(sc.engine, hw) for hw in hws}
    shown = efficiency[hws[0].id]
    result = PlanResult(scenario=sc.as_dict() | {"hardware": [h.id for h in hws]}, model=model_summary(m),
                        assumptions=a.as_dict() | {"engine": sc.engine or "any (default profile)",
                                                   "efficiency": shown.as_dict(),
                                                   "efficiency_differs_for": [h.id for h in hws
                                                                              if efficiency[h.id] != shown]})
    check_scenario(m, sc)
    prefill_eff = profiles.get(sc.engine, sc.prefill_hardware) if sc.prefill_hardware else None
    for hw in hws:
        option, why_not = plan_one(m, hw, sc, a, efficiency[hw.id], prefill_eff)
        (result.options.append(option) if option else result.infeasible.append(why_not))
        if progress:
            progress(hw.id)
    result.options.sort(key=lambda o: o.usd_per_mtok_output)
    result.infeasible.sort(key=lambda o: -o.max_tokens_per_s_per_user)
    return result
