"""`servecost validate`: predicted vs measured TTFT and TPOT over measured serving runs.

Errors are absolute percentage errors, APE = |predicted / measured - 1|, summarised as the median
(median_ape), the mean (mape) and the 90th percentile (p90_ape), overall and per group. A run the
engine cannot predict is listed as skipped with the reason, never dropped.
"""

import numpy as np
import pandas as pd

from . import hardware, models
from .efficiency import DEFAULT, Efficiency
from .measured import Run
from .parallel import Parallel
from .roofline import Precision, decode_step_s, prefill_s
from .serving import aggregated

GROUP_BY = ("hardware", "model", "engine", "mode")


def _pool_parallel(pool: dict) -> Parallel:
    def get(key):
        return int(pool[key]) if pool.get(key) else 1
    return Parallel(tp=get("tp_size"), pp=get("pp_size"), dp_attn=get("attention_dp_size"), ep=get("moe_ep_size"))


def predict_run(run: Run, eff: Efficiency = DEFAULT) -> tuple[float, float] | str:
    """(ttft_s, tpot_s) predicted for `run`, or the reason it cannot be predicted."""
    if run.model is None:
        return f"model {run.source_model!r} is not in the catalogue"
    if run.hardware is None:
        return f"system {run.source_system!r} is not in the catalogue"
    m, hw = models.get(run.model), hardware.get(run.hardware)
    prec = Precision.resolve(m, run.weight_dtype, run.expert_dtype)
    if run.mode == "disagg":
        return _predict_disagg(run, m, hw, prec, eff)
    if run.concurrency <= 0:
        return "concurrency not given"
    par = Parallel(tp=run.tp, pp=run.pp, dp_attn=run.dp_attn, ep=run.ep)
    if m.is_moe and run.moe_tp * run.ep != run.tp * run.dp_attn:
        return f"moe_tp x moe_ep = {run.moe_tp * run.ep} differs from tp x attention_dp = {run.tp * run.dp_attn}"
    sp = aggregated(m, hw, par, prec, run.concurrency, run.input_tokens, run.output_tokens, eff)
    return float(sp.ttft_s), float(sp.tpot_s)


def _predict_disagg(run: Run, m, hw, prec, eff):
    pools = run.pools or {}
    pre, dec = pools.get("prefill", {}), pools.get("decode", {})
    if not (pre.get("num_workers") and dec.get("num_workers")):
        return "pool sizes not given"
    decode_par, prefill_par = _pool_parallel(dec), _pool_parallel(pre)
    batch = run.concurrency / dec["num_workers"]
    tpot = float(decode_step_s(m, hw, decode_par, prec, batch, run.input_tokens + run.output_tokens / 2, eff))
    ttft = float(prefill_s(m, hw, prefill_par, prec, pre.get("batch_size") or 1, run.input_tokens, eff,
                           spread_over_dp=False)) + tpot
    return ttft, tpot


def _ape_summary(df: pd.DataFrame, metric: str) -> dict:
    ape = df[f"{metric}_ape"].dropna()
    if ape.empty:
        return {"n": 0, "median_ape": None, "mape": None, "p90_ape": None}
    return {"n": int(ape.size), "median_ape": float(ape.median()), "mape": float(ape.mean()),
            "p90_ape": float(np.percentile(ape, 90)), "median_signed_error": float(df[f"{metric}_error"].median())}


def validate(runs: list[Run], eff: Efficiency = DEFAULT, progress=None) -> dict:
    """Predict every run; return rows, skipped runs with reasons, summary and per-group errors."""
    results, skipped = [], []
    for run in runs:
        out = predict_run(run, eff)
        if progress:
            progress()
        if isinstance(out, str):
            skipped.append({"id": run.id, "reason": out})
            continue
        ttft, tpot = out
        results.append({"id": run.id, "hardware": run.hardware, "model": run.model, "engine": run.engine,
                        "mode": run.mode, "isl": run.input_tokens, "osl": run.output_tokens,
                        "concurrency": run.concurrency, "tp": run.tp, "pp": run.pp, "dp_attn": run.dp_attn,
                        "ep": run.ep, "measured_ttft_s": run.measured_ttft_s, "predicted_ttft_s": ttft,
                        "measured_tpot_s": run.measured_tpot_s, "predicted_tpot_s": tpot})
    df = pd.DataFrame(results)
    summary, groups = {}, []
    if not df.empty:
        for metric in ("ttft", "tpot"):
            df[f"{metric}_error"] = df[f"predicted_{metric}_s"] / df[f"measured_{metric}_s"] - 1
            df[f"{metric}_ape"] = df[f"{metric}_error"].abs()
            summary[metric] = _ape_summary(df, metric)
        for key in GROUP_BY:
            for value, part in df.groupby(key):
                for metric in ("ttft", "tpot"):
                    groups.append({"by": key, "value": value, "metric": metric} | _ape_summary(part, metric))
    return {"rows": len(runs), "predicted": len(results), "skipped": skipped, "summary": summary,
            "groups": groups, "results": df.to_dict(orient="records") if not df.empty else [],
            "efficiency": eff.as_dict()}

