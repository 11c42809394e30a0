"""Cost of a fleet: capex amortised with cost of capital, facility, power and other opex; or cloud rental.

    $/h per chip = (capex_chip + capex_facility) * annuity(r, n) / 8760 + P * PUE * $/kWh + other
    $/Mtok       = $/h / (tokens/s * 3600 * load) * 1e6
"""

import math
from dataclasses import dataclass, fields

import numpy as np

from .hardware import Accelerator
from .units import HOUR_S, KW, MONTH_S, MTOK, MW, YEAR_S

HOURS_PER_YEAR = YEAR_S / HOUR_S


@dataclass(frozen=True, slots=True)
class Assumptions:
    """Every cost assumption, printed with each plan; all overridable from the CLI."""
    pricing: str = "own"                  # "own": buy and run the hardware; "cloud": rent per chip-hour
    # depreciation period of the chips: the question's three years (and common 3-5-year schedules)
    lifetime_years: float = 3.0
    # estimate: the weighted cost of capital of data-center operators, roughly 7-9%
    cost_of_capital_frac: float = 0.08
    # US industrial average: 8.06 c/kWh in 2023 (EIA via https://www.statista.com/statistics/190680/;
    # state detail in EIA Electric Power Monthly table 5.6.B, eia.gov/electricity/monthly)
    usd_per_kwh: float = 0.08
    # estimate for new AI halls: the industry average is 1.56 (Uptime Institute 2024 survey), new large
    # facilities reach 1.3 or better, hyperscale ~1.1 (https://cloudnews.tech/uptime-institute-highlights-
    # decline-in-trust-in-ai-and-need-to-improve-sustainability-metrics-in-data-centers)
    pue: float = 1.2
    # build cost per W of critical IT load: US average $11.7M/MW across 19 markets (Cushman & Wakefield,
    # Data Center Development Cost Guide 2025, https://cushwake.cld.bz/Data-Center-Development-Cost-Guide-2025/8-9)
    facility_usd_per_w: float = 11.7
    facility_lifetime_years: float = 15.0   # estimate: shell and power plant outlive several chip generations
    # estimate: staff, software, maintenance and hosting per year, as a fraction of hardware capex
    other_opex_frac: float = 0.10
    load_frac: float = 1.0                # average load / sized capacity (1: the users are always there)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def annuity_frac(rate_frac: float, years: float) -> float:
    """Fraction of a capital sum paid per year to repay it over `years` at `rate_frac`."""
    if rate_frac == 0:
        return 1 / years
    return rate_frac / -math.expm1(-years * math.log1p(rate_frac))   # r / (1 - (1 + r)^-n), exact for tiny r


def chip_cost_usd_per_hr(hw: Accelerator, power_w, a: Assumptions) -> dict:
    """One chip's cost for one hour at `power_w` (its wall power, before PUE), by component:
    capex (chip + system share, annuity over the lifetime), facility (build cost per W of its load
    wall power at PUE,
    over its lifetime), energy (power x PUE x $/kWh) and other opex; or the cloud rental rate."""
    if a.pricing == "cloud":   # no published rental price: not rentable (inf), never a derived one
        rate = hw.cloud_usd_per_hr if hw.cloud_usd_per_hr > 0 else np.inf
        return {"cloud": np.broadcast_to(np.asarray(rate, dtype=float), np.shape(power_w)).copy()}
    return {"capex": hw.capex_usd * annuity_frac(a.cost_of_capital_frac, a.lifetime_years) / HOURS_PER_YEAR,
            "facility": hw.load_w * a.pue * a.facility_usd_per_w
            * annuity_frac(a.cost_of_capital_frac, a.facility_lifetime_years) / HOURS_PER_YEAR,
            "energy": np.asarray(power_w) * a.pue / KW * a.usd_per_kwh,
            "other": hw.capex_usd * a.other_opex_frac / HOURS_PER_YEAR}


def chip_usd_per_hr(hw: Accelerator, power_w, a: Assumptions):
    """All-in cost of one chip for one hour at `power_w`."""
    return sum(chip_cost_usd_per_hr(hw, power_w, a).values())


def cost_breakdown(hw: Accelerator, chips: float, power_w: float, a: Assumptions) -> dict[str, float]:
    """$/hour of a fleet of `chips` by component (see chip_cost_usd_per_hr)."""
    return {f"{k}_usd_per_hour": float(chips * v) for k, v in chip_cost_usd_per_hr(hw, power_w, a).items()}


def usd_per_mtok(usd_per_hour, tokens_per_s, a: Assumptions):
    """Dollars per million tokens at the fleet's average load."""
    return usd_per_hour / (np.asarray(tokens_per_s) * HOUR_S * a.load_frac) * MTOK


def facility_mw(chips, power_w, a: Assumptions):
    """Facility power of the fleet, PUE included, in MW."""
    return np.asarray(chips) * power_w * a.pue / MW


def tokens_per_s_per_mw(tokens_per_s_per_chip, hw: Accelerator, a: Assumptions):
    """Output tokens/s per MW of provisioned facility power: per chip over its load wall power x PUE
    (a datacentre provisions every system at its load power)."""
    return np.asarray(tokens_per_s_per_chip) / (hw.load_w * a.pue) * MW


def usd_per_user_month(usd_per_hour, users):
    return usd_per_hour * (MONTH_S / HOUR_S) / users
