"""Uncertain inputs as ranges: a Monte Carlo of the cost per million tokens, vectorised.

    $/Mtok = (capex * f_price + facility + energy * f_kwh + other * f_price) / (tokens/s * f_speed * load)
The chip price factor f_price, the electricity price and the load are drawn uniformly from the
ranges given; f_speed, the engine's error, is drawn from the cross-validated TPOT residuals
(log-normal through their 5% and 95% quantiles, data/error_bands.yaml).
"""

from dataclasses import dataclass

import numpy as np

from ..bands import quantiles
from ..units import HOUR_S, MTOK

Z90 = 1.6448536269514722   # standard normal 95% quantile


@dataclass(frozen=True)
class Ranges:
    price_frac: tuple[float, float] = (0.8, 1.2)       # chip and system price, x the catalogue's
    usd_per_kwh: tuple[float, float] = (0.05, 0.12)    # US industrial 2024 spans roughly 5-12 c/kWh by state (EIA)
    load_frac: tuple[float, float] = (0.6, 1.0)        # average / sized load of the fleet


def speed_factors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Measured / predicted throughput: exp(-r), r ~ normal through the TPOT residual quantiles."""
    q = quantiles()["tpot"]
    mu = (q["log_ratio_p05"] + q["log_ratio_p95"]) / 2
    sigma = (q["log_ratio_p95"] - q["log_ratio_p05"]) / (2 * Z90)
    return np.exp(-rng.normal(mu, sigma, n))


def usd_per_mtok_samples(breakdown: dict, usd_per_kwh: float, tokens_per_s: float, ranges: Ranges,
                         n: int = 100_000, seed: int = 0) -> np.ndarray:
    """n samples of $/Mtok for a fleet whose $/hour `breakdown` (capex, facility, energy, other or
    cloud, from economics.cost_breakdown) and output tokens/s are given at `usd_per_kwh`."""
    rng = np.random.default_rng(seed)
    price = rng.uniform(*ranges.price_frac, n)
    kwh = rng.uniform(*ranges.usd_per_kwh, n)
    load = rng.uniform(*ranges.load_frac, n)
    usd_per_hr = (breakdown.get("capex_usd_per_hour", 0.0) * price + breakdown.get("facility_usd_per_hour", 0.0)
                  + breakdown.get("energy_usd_per_hour", 0.0) * kwh / max(usd_per_kwh, 1e-12)
                  + breakdown.get("other_usd_per_hour", 0.0) * price + breakdown.get("cloud_usd_per_hour", 0.0) * price)
    return usd_per_hr / (tokens_per_s * speed_factors(rng, n) * load * HOUR_S) * MTOK


def summary(samples: np.ndarray) -> dict:
    p05, p50, p95 = np.percentile(samples, [5, 50, 95])
    return {"median": float(p50), "p05": float(p05), "p95": float(p95), "samples": int(samples.size)}
