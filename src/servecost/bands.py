"""Uncertainty bands: 90% intervals from cross-validated residuals, per hardware family.

data/error_bands.yaml holds the 5% and 95% quantiles of log(predicted / measured) over the
leave-one-model-out predictions of the calibration runs (NVIDIA Hopper and Blackwell; benchmarks/
accuracy.py writes it). For a prediction x the measured value lies, 9 times in 10 on that evidence,
in [x * exp(-q95), x * exp(-q05)]. A throughput is a count over a TPOT, so its band is the inverted
TPOT band.
A chip outside those generations takes its family's band instead: the quantiles of predicted /
measured speed over the family's published rows, each predicted without its model
(data/family_evidence.yaml, from tests/data/family_runs.csv). TTFT keeps the calibration band: the
published TTFTs come through public APIs (network and queue included) and are checked, not fitted.
"""

from functools import cache
from importlib import resources

import numpy as np
import yaml

from . import families


@cache
def quantiles() -> dict:
    return yaml.safe_load(resources.files("servecost").joinpath("data/error_bands.yaml").read_text())


@cache
def family_evidence() -> dict:
    """Per family: published rows, median predicted/measured speed and error, and the band quantiles."""
    res = resources.files("servecost").joinpath("data/family_evidence.yaml")
    return yaml.safe_load(res.read_text())["families"] if res.is_file() else {}


def _speed_quantiles(family: str | None) -> tuple[float, float]:
    """(q05, q95) of log(predicted / measured speed) for `family` (None: the calibration runs). A
    family's band spans its own published rows' quantiles and the calibration band (its few rows may
    all lie to one side of the prediction; the band still holds the prediction)."""
    q = quantiles()["tpot"]            # log(pred/meas) of a time = -log of the speed ratio
    lo, hi = -q["log_ratio_p95"], -q["log_ratio_p05"]
    ev = family_evidence().get(family) if family else None
    if ev:
        return min(lo, ev["log_ratio_p05"]), max(hi, ev["log_ratio_p95"])
    return lo, hi


def time_band(value_s: float, metric: str, family: str | None = None) -> list[float]:
    """90% interval of a predicted time (metric 'tpot' or 'ttft'); `family`: its published evidence
    (None: the calibration runs)."""
    if metric == "tpot" and family:
        lo, hi = _speed_quantiles(family)     # measured time = predicted time x speed ratio
        return [float(value_s * np.exp(lo)), float(value_s * np.exp(hi))]
    q = quantiles()[metric]
    return [float(value_s * np.exp(-q["log_ratio_p95"])), float(value_s * np.exp(-q["log_ratio_p05"]))]


def rate_band(value: float, family: str | None = None) -> list[float]:
    """90% interval of a rate that is inversely proportional to TPOT (tokens/s)."""
    lo, hi = _speed_quantiles(family)
    return [float(value / np.exp(hi)), float(value / np.exp(lo))]


def cost_band(value: float, family: str | None = None) -> list[float]:
    """90% interval of a cost per token, which scales with TPOT (the chips a fixed load needs)."""
    return time_band(value, "tpot", family) if family else time_band(value, "tpot")


def evidence_family(hw) -> str | None:
    """The family whose published evidence bands `hw`'s predictions (None: calibrated generation)."""
    from .profiles import calibrated

    return None if calibrated(hw.id) else hw.family


def backing(hw) -> dict:
    """How the chip's predictions are backed: its measured runs and their cross-validated error."""
    family = evidence_family(hw)
    if family is None:
        q = quantiles()
        return {"evidence": "calibration runs of its generation", "runs": int(q["runs"]),
                "median_error": float(q["tpot"]["median_ape"])}
    ev = family_evidence().get(family)
    if not ev:
        return {"evidence": f"none for family {family}", "runs": 0, "median_error": None}
    out = {"evidence": f"published {family} measurements", "runs": int(ev["rows"]),
           "median_error": float(ev["median_ape"]), "median_ratio": float(ev["median_ratio"])}
    engine = families.get(family).engine
    return out | {"engine": engine} if engine else out     # the serving software its host cost is fitted for
