"""Cross-validated error of the calibrated engine: hold out every model (or system) in turn, fit
the profiles on the rest, predict the held-out runs. The residuals give the error bars."""

import numpy as np
import pandas as pd

from .calibrate import fit_profiles
from .measured import Run
from .validate import errors_frame, predict_runs

HOLD_OUT = {"model": lambda r: r.model, "system": lambda r: r.hardware}


def held_out_errors(runs: list[Run], by: str, progress=None) -> pd.DataFrame:
    """errors_frame of every run, each predicted by profiles fitted without its model / system."""
    key = HOLD_OUT[by]
    frames = []
    for value in sorted({key(r) for r in runs if key(r)}):
        train = [r for r in runs if key(r) != value]
        test = [r for r in runs if key(r) == value]
        frame = errors_frame(test, predict_runs(test, fit_profiles(train)))
        frames.append(frame.assign(held_out=value))
        if progress:
            progress(value)
    return pd.concat(frames, ignore_index=True)


def summary(df: pd.DataFrame) -> dict:
    """Median, mean and p90 APE per metric, and the 5/95% quantiles of log(predicted/measured)."""
    out = {}
    for metric in ("ttft", "tpot"):
        err = df[f"{metric}_error"].replace([np.inf, -np.inf], np.nan).dropna()
        log_err = np.log1p(err)
        out[metric] = {"n": int(err.size), "median_ape": float(err.abs().median()), "mape": float(err.abs().mean()),
                       "p90_ape": float(err.abs().quantile(0.9)),
                       "log_ratio_p05": float(log_err.quantile(0.05)), "log_ratio_p95": float(log_err.quantile(0.95))}
    return out
