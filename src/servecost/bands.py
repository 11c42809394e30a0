"""Uncertainty bands: 90% intervals from the cross-validated residuals of the calibrated engine.

data/error_bands.yaml holds the 5% and 95% quantiles of log(predicted / measured) over the
leave-one-model-out predictions (benchmarks/accuracy.py writes it). For a prediction x the measured
value lies, 9 times in 10 on that evidence, in [x * exp(-q95), x * exp(-q05)]. A throughput is a
count over a TPOT, so its band is the inverted TPOT band.
"""

from functools import cache
from importlib import resources

import numpy as np
import yaml


@cache
def quantiles() -> dict:
    return yaml.safe_load(resources.files("servecost").joinpath("data/error_bands.yaml").read_text())


def time_band(value_s: float, metric: str) -> list[float]:
    """90% interval of a predicted time (metric 'tpot' or 'ttft')."""
    q = quantiles()[metric]
    return [float(value_s * np.exp(-q["log_ratio_p95"])), float(value_s * np.exp(-q["log_ratio_p05"]))]


def rate_band(value: float) -> list[float]:
    """90% interval of a rate that is inversely proportional to TPOT (tokens/s, or its cost per token
    inverted: pass 1/cost and invert back)."""
    lo_t, hi_t = time_band(1.0, "tpot")
    return [float(value / hi_t), float(value / lo_t)]


def cost_band(value: float) -> list[float]:
    """90% interval of a cost per token, which scales with TPOT (the chips a fixed load needs)."""
    return time_band(value, "tpot")
