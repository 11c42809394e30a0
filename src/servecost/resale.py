"""What a chip is worth used, by age, and how long it serves: per hardware family.

    V(age) = resale value / purchase price, linear between the yearly points, held at the last one
             until the family's lifetime, 0 after it
The yearly cost of holding a chip from age a to a + 1 is its fall in value plus the cost of capital
tied up in it (economic depreciation, not a straight line to zero):
    c(a) = capex * (V(a) - V(a + 1) + r * V(a))
"""

import numpy as np

# GPUs: H100 SXM secondary-market residuals 60-65% after 1 year, 40-45% after 2, 25-35% after 3,
# 15-20% after 4, 10-15% after 5 (GPU Lease Rate Index, 500+ transactions,
# v2-pseo-ai.pages.dev/residual/h100-depreciation-calculator, updated 2026-01-08), midpoints taken;
# held at 10% after that: used A100s (2020) still clear at $4,000-18,000
# (computeforecast.com/long-reads/secondary-market-ai-hardware-gpu-economy-neocloud-economics, 2026).
GPU_CURVE = (1.0, 0.625, 0.425, 0.30, 0.175, 0.125, 0.10)
# Estimate: chips without a liquid used market (wafer-scale, LPU, RDU appliances, Gaudi cards) keep
# half the GPU's value; TPUs and Trainium are not sold to third parties at all (Google Cloud and AWS
# only), so they resell for 0.
HALF_GPU_CURVE = tuple(0.5 * v if i else 1.0 for i, v in enumerate(GPU_CURVE))
NO_MARKET = (1.0, 0.0)
CURVES = {"gpu": GPU_CURVE, "tpu": NO_MARKET, "trainium": NO_MARKET, "gaudi": HALF_GPU_CURVE,
          "rdu": HALF_GPU_CURVE, "wafer": HALF_GPU_CURVE, "lpu": HALF_GPU_CURVE}
# Service lifetimes, years: Microsoft and Alphabet depreciate servers over six years (10-Q/10-K
# 2022-23, summarised at shaulkoral.com/useful-life-of-servers-and-network-assets-at-tech-companies);
# Amazon cut a subset of its servers back to five in 2025 citing AI hardware turnover
# (wiresift.com/ai-server-depreciation, from the 10-Ks); five is taken for the smaller vendors' appliances.
LIFETIME_YEARS = {"gpu": 6.0, "tpu": 6.0, "trainium": 5.0, "gaudi": 5.0, "rdu": 5.0, "wafer": 5.0, "lpu": 5.0}


def value_frac(family: str, age_years):
    """V(age): resale value over purchase price (1 new; 0 past the family's lifetime)."""
    curve = np.asarray(CURVES.get(family, HALF_GPU_CURVE), dtype=float)
    age = np.asarray(age_years, dtype=float)
    v = np.interp(age, np.arange(curve.size), curve)
    return np.where(age > LIFETIME_YEARS.get(family, 5.0), 0.0, v)


def book_value_frac(family: str, age_years):
    """B(age): what a chip is worth to the owner who keeps it: its resale value where a used market
    exists; for chips that cannot be resold (TPU, Trainium) straight-line over the family's lifetime,
    1 - age / lifetime, since they keep serving though nobody would buy them."""
    if CURVES.get(family) is not NO_MARKET:
        return value_frac(family, age_years)
    return np.clip(1 - np.asarray(age_years, dtype=float) / LIFETIME_YEARS.get(family, 5.0), 0.0, 1.0)


def holding_usd(capex_usd: float, family: str, age_years, rate_frac: float):
    """c(a): a year's fall in the chip's book value plus the cost of capital on what it is still worth."""
    v0, v1 = book_value_frac(family, age_years), book_value_frac(family, np.asarray(age_years) + 1)
    return capex_usd * (v0 - v1 + rate_frac * v0)


def write_off_usd(capex_usd: float, family: str, age_years):
    """What retiring a chip early costs beyond its holding: book value less what it sells for."""
    return capex_usd * (book_value_frac(family, age_years) - value_frac(family, age_years))
