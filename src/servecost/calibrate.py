"""Fit the few efficiency factors to measured runs: least squares on log(predicted / measured).

Only physically meaningful, shared factors are fitted (fractions of peak FLOP/s and bandwidth,
per-layer and per-step overheads); nothing per model or per row. TPOT is fitted; TTFT is left out
until queueing behind other prefills is modelled (measured TTFT includes it).
"""

from dataclasses import replace

import numpy as np
import yaml
from scipy.optimize import least_squares

from .efficiency import DEFAULT, Efficiency
from .measured import Run
from .validate import predict_run

FITTED = {  # factor: (lower, upper) bounds
    "gemm_flops_frac": (0.2, 1.0),
    "attn_flops_frac": (0.1, 1.0),
    "mem_bw_frac": (0.3, 1.0),
    "layer_overhead_s": (1e-7, 2e-4),
    "step_overhead_s": (1e-6, 2e-2),
}


def _with(x_log: np.ndarray, base: Efficiency) -> Efficiency:
    return replace(base, **{k: float(np.exp(v)) for k, v in zip(FITTED, x_log)})


def log_residuals(runs: list[Run], eff: Efficiency) -> np.ndarray:
    """log(predicted / measured) TPOT per predictable run."""
    out = []
    for run in runs:
        pred = predict_run(run, eff)
        if not isinstance(pred, str) and run.measured_tpot_s > 0:
            out.append(np.log(pred[1] / run.measured_tpot_s))
    return np.array(out)


def fit(runs: list[Run], base: Efficiency = DEFAULT) -> tuple[Efficiency, dict]:
    """Efficiency minimising the squared log TPOT error over `runs` (soft-L1 against outliers).
    Runs whose measurement or base prediction is not a finite positive time are left out."""
    runs = [r for r in runs if np.isfinite(r.measured_tpot_s) and r.measured_tpot_s > 0
            and not isinstance(p := predict_run(r, base), str) and np.isfinite(p[1]) and p[1] > 0]
    x0 = np.log([getattr(base, k) for k in FITTED])
    lo, hi = np.log([b[0] for b in FITTED.values()]), np.log([b[1] for b in FITTED.values()])
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)
    result = least_squares(lambda x: log_residuals(runs, _with(x, base)), x0, bounds=(lo, hi),
                           loss="soft_l1", f_scale=0.2, diff_step=0.02, max_nfev=60)
    eff = _with(result.x, base)
    before, after = log_residuals(runs, base), log_residuals(runs, eff)
    stats = {"runs": int(after.size),
             "tpot_median_ape_before": float(np.median(np.abs(np.expm1(before)))),
             "tpot_median_ape_after": float(np.median(np.abs(np.expm1(after)))),
             "evaluations": int(result.nfev)}
    return eff, stats


def write_profile(eff: Efficiency, stats: dict, path: str) -> None:
    """Profile YAML readable by --profile: the factors under `default`, and how they were fitted."""
    with open(path, "w") as fh:
        yaml.safe_dump({"default": eff.as_dict(), "fit": stats}, fh, sort_keys=False)
