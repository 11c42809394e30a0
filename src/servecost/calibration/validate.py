"""`servecost validate`: predicted vs measured TTFT and TPOT over measured serving runs.

Errors are absolute percentage errors, APE = |predicted / measured - 1|, summarised as the median
(median_ape), the mean (mape) and the 90th percentile (p90_ape), overall and per group. A run the
engine cannot predict is listed as skipped with the reason, never dropped. Aggregated runs that
share model, chip, dtypes and engine are predicted in one vectorised call.
"""

import math
from collections import defaultdict

import numpy as np
import pandas as pd

from .. import hardware, memory, models
from ..errors import InputError
from .measured import Run
from ..parallel import Parallel
from ..profiles import ENGINES, Profiles, shipped
from ..roofline import Precision, prefill_s
from ..serving import aggregated, decode_tpot_s, kv_handoff_s, queued_prefill_s
from ..speculative import MTP_ONE_DRAFT as MTP
from ..speculative import NONE

GROUP_BY = ("hardware", "model", "engine", "mode")
ASSUMED_POOLS = ("disaggregated runs without worker counts: the decode pool is as few workers as hold the "
                 "concurrency in their KV caches, the prefill pool as many workers")
ASSUMED_SPECULATION = (f"runs with speculative decoding whose settings are not given: MTP with "
                       f"{MTP.draft_tokens} draft token accepted {MTP.acceptance_frac:.0%} of the time, as `plan` "
                       "assumes for models that ship MTP heads")


MAX_DEGREE = 4096             # tp, pp, ep, attention-DP of one run (as the CLI and API take)
MAX_RUN_TOKENS = 10_000_000   # prompt or output tokens per request
MAX_CONCURRENCY = 10_000_000


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


# Serving engines known to serve LLMs that have no fitted set of their own: predicted with the default
# (all-engine) factors. ATOM: AMD's inference engine (ROCm/ATOM, InferenceX MI355X runs).
OTHER_ENGINES = ("atom",)


def _impossible(run: Run) -> str | None:
    """Why a row's numbers describe no run that could have been measured (tp=2.5, tp=1e18, engine=tensorflow),
    or None."""
    for name in ("tp", "pp", "dp_attn", "ep", "moe_tp"):
        v = _float(getattr(run, name))
        if not (math.isfinite(v) and v.is_integer() and 1 <= v <= MAX_DEGREE):
            return f"{name}={getattr(run, name)!r:.40} is not a parallel degree (a whole number 1..{MAX_DEGREE})"
    for name in ("input_tokens", "output_tokens"):
        v = _float(getattr(run, name))
        if not (math.isfinite(v) and 1 <= v <= MAX_RUN_TOKENS):
            return f"{name}={getattr(run, name)!r:.40} is not a token count (1..{MAX_RUN_TOKENS:,})"
    v = _float(run.concurrency)
    if not (math.isfinite(v) and v <= MAX_CONCURRENCY):
        return f"concurrency={run.concurrency!r:.40} is over {MAX_CONCURRENCY:,}"
    if run.engine and run.engine not in ENGINES + OTHER_ENGINES:
        return f"engine={run.engine!r:.40} is not one of {', '.join(ENGINES + OTHER_ENGINES)}"
    for name in ("measured_ttft_s", "measured_tpot_s"):
        v = _float(getattr(run, name))
        if math.isinf(v) or v > 1e6:
            return f"{name}={getattr(run, name)!r:.40} is not a measured time"
    return None


def _why_not(run: Run) -> str | None:
    """The reason `run` cannot be predicted, or None."""
    if run.skip_reason:
        return run.skip_reason
    impossible = _impossible(run)
    if impossible:
        return impossible
    if run.model is None:
        return f"model {run.source_model!r} is not in the catalogue"
    if run.hardware is None:
        return f"system {run.source_system!r} is not in the catalogue"
    if not run.concurrency > 0:
        return "concurrency not given"
    if run.mode == "disagg" and not run.pools:
        return ("disaggregated run without its prefill and decode worker counts (runs CSV: prefill_workers, "
                "decode_workers and the prefill_ layout)")
    for name, pool in (run.pools or {}).items():
        per_worker = (pool.get("tp_size") or 1) * (pool.get("pp_size") or 1) * (pool.get("attention_dp_size") or 1)
        if pool.get("gpus") and pool.get("num_workers") and pool["num_workers"] * per_worker != pool["gpus"]:
            return (f"{name} pool: {pool['num_workers']:g} workers x {per_worker:g} GPUs each differs from the "
                    f"{pool['gpus']:g} GPUs stated")
    if run.speculative and not models.get(run.model).mtp_layers:
        return (f"speculative decoding ({run.speculative}) on a model without MTP heads: the draft model and "
                "its acceptance are not given")
    if run.mode == "agg" and models.get(run.model).is_moe and run.moe_tp * run.ep != run.tp * run.dp_attn:
        return f"moe_tp x moe_ep = {run.moe_tp * run.ep} differs from tp x attention_dp = {run.tp * run.dp_attn}"
    return None


def _precision(run: Run) -> Precision:
    return Precision.resolve(models.get(run.model), run.weight_dtype, run.expert_dtype, run.kv_dtype)


def _pool_parallel(pool: dict) -> Parallel:
    def get(key):
        return int(pool[key]) if pool.get(key) else 1
    return Parallel(tp=get("tp_size"), pp=get("pp_size"), dp_attn=get("attention_dp_size"), ep=get("moe_ep_size"))


def _predict_disagg(run: Run, eff) -> tuple[float, float]:
    """Separate prefill and decode pools. TPOT is a pure decode step at the decode workers' batch; TTFT
    is the request overhead, the prompt's prefill with its share of the queue (as in serving.py),
    its KV sent to the decode pool over the scale-out network, and one decode step. Where the file
    gives no worker counts (run.pools_assumed) the decode pool is assumed to be as few workers as
    hold the concurrency in their KV caches, and the prefill pool as many workers."""
    m, hw, prec = models.get(run.model), hardware.get(run.hardware), _precision(run)
    pre, dec = run.pools["prefill"], run.pools["decode"]
    decode_par, prefill_par = _pool_parallel(dec), _pool_parallel(pre)
    context = run.input_tokens + run.output_tokens / 2
    if run.pools_assumed:
        slots = float(memory.max_batch(m, hw.mem_bytes, decode_par, context, prec.weight, prec.expert, prec.kv))
        workers = max(1.0, np.ceil(run.concurrency / max(slots, 1.0)))
    else:
        workers = dec["num_workers"]
    tpot = float(decode_tpot_s(m, hw, decode_par, prec, run.concurrency / workers, run.input_tokens,
                               run.output_tokens, eff, MTP if run.speculative else NONE))
    kv_transfer_s = float(kv_handoff_s(m, prec, run.input_tokens, hw, decode_par.chips, hw, prefill_par.chips, eff))
    lone = float(prefill_s(m, hw, prefill_par, prec, 1.0, run.input_tokens, eff, spread_over_dp=False))
    prefill_workers = pre.get("num_workers") or workers   # assumed: as many prefill as decode workers
    wave = float(prefill_s(m, hw, prefill_par, prec, run.concurrency / prefill_workers, run.input_tokens, eff))
    return float(queued_prefill_s(lone, wave, eff)) + kv_transfer_s + tpot, tpot


def predict_runs(runs: list[Run], profiles: Profiles | None = None) -> list[tuple[float, float] | str]:
    """(ttft_s, tpot_s) per run, or the reason it cannot be predicted, in the order of `runs`."""
    profiles = profiles or shipped()
    out: list = [None] * len(runs)
    batches = defaultdict(list)
    for i, run in enumerate(runs):
        why = _why_not(run)
        if why:
            out[i] = why
        elif run.mode == "disagg":
            out[i] = _predict_disagg(run, profiles.get(run.engine, run.hardware))
        else:
            batches[(run.model, run.hardware, run.weight_dtype, run.expert_dtype, run.kv_dtype, run.engine,
                     bool(run.speculative))].append(i)
    for (model_id, hw_id, *_, engine, speculative), idx in batches.items():
        group = [runs[i] for i in idx]

        def col(name):
            return np.array([getattr(r, name) for r in group], dtype=float)

        par = Parallel(tp=col("tp"), pp=col("pp"), dp_attn=col("dp_attn"), ep=col("ep"))
        sp = aggregated(models.get(model_id), hardware.get(hw_id), par, _precision(group[0]), col("concurrency"),
                        col("input_tokens"), col("output_tokens"), profiles.get(engine, hw_id),
                        MTP if speculative else NONE)
        for j, i in enumerate(idx):
            out[i] = (float(sp.ttft_s[j]), float(sp.tpot_s[j]))
    return out


def _ape_summary(df: pd.DataFrame, metric: str) -> dict:
    ape = df[f"{metric}_ape"].dropna()
    if ape.empty:
        return {"n": 0, "median_ape": None, "mape": None, "p90_ape": None}
    return {"n": int(ape.size), "median_ape": float(ape.median()), "mape": float(ape.mean()),
            "p90_ape": float(np.percentile(ape, 90)), "median_signed_error": float(df[f"{metric}_error"].median())}


def errors_frame(runs: list[Run], predictions: list) -> pd.DataFrame:
    """One row per predicted run: configuration, measured and predicted times, signed and absolute errors."""
    rows = []
    for run, pred in zip(runs, predictions):
        if isinstance(pred, str):
            continue
        rows.append({"id": run.id, "hardware": run.hardware, "model": run.model, "engine": run.engine,
                     "mode": run.mode, "assumed": run.assumed, "speculative": run.speculative,
                     "isl": run.input_tokens, "osl": run.output_tokens, "concurrency": run.concurrency,
                     "tp": run.tp, "pp": run.pp, "dp_attn": run.dp_attn, "ep": run.ep,
                     "measured_ttft_s": run.measured_ttft_s, "predicted_ttft_s": pred[0],
                     "measured_tpot_s": run.measured_tpot_s, "predicted_tpot_s": pred[1]})
    df = pd.DataFrame(rows)
    for metric in ("ttft", "tpot"):
        if not df.empty:
            df[f"{metric}_error"] = df[f"predicted_{metric}_s"] / df[f"measured_{metric}_s"] - 1
            df[f"{metric}_ape"] = df[f"{metric}_error"].abs()
    return df


def summarise(df: pd.DataFrame) -> tuple[dict, list]:
    """Overall and per-group error summaries of an errors_frame."""
    summary, groups = {}, []
    if df.empty:
        return summary, groups
    for metric in ("ttft", "tpot"):
        summary[metric] = _ape_summary(df, metric)
    for key in GROUP_BY:
        for value, part in df.groupby(key):
            for metric in ("ttft", "tpot"):
                groups.append({"by": key, "value": value, "metric": metric} | _ape_summary(part, metric))
    return summary, groups


def validate(runs: list[Run], profiles: Profiles | None = None) -> dict:
    """Predict every run; return rows, skipped runs with reasons, summary and per-group errors.
    Runs predicted under an assumption (pool sizes, see _predict_disagg; speculative decoding whose
    settings the file does not give: ASSUMED_SPECULATION) are summarised apart, under `assumed`."""
    predictions = predict_runs(runs, profiles)
    skipped = [{"id": r.id, "reason": p} for r, p in zip(runs, predictions) if isinstance(p, str)]
    df = errors_frame(runs, predictions)
    measured = df[~df.assumed] if not df.empty else df
    summary, groups = summarise(measured)
    assumed = summarise(df[df.assumed])[0] if not df.empty and df.assumed.any() else {}
    assumptions = [text for text, used in ((ASSUMED_POOLS, any(r.pools_assumed for r in runs)),
                                           (ASSUMED_SPECULATION, any(r.speculative for r in runs))) if used]
    return {"rows": len(runs), "predicted": len(runs) - len(skipped), "skipped": skipped, "summary": summary,
            "groups": groups, "assumed": {"rows": int(df.assumed.sum()) if not df.empty else 0,
                                          "assumption": "; ".join(assumptions), "summary": assumed},
            "results": df.to_dict(orient="records") if not df.empty else []}


def require_predictions(result: dict, source: str) -> dict:
    """`result`, or InputError when the file held no run that could be predicted (exit 2, not a blank table)."""
    if result["predicted"]:
        return result
    if not result["rows"]:
        raise InputError(f"{source}: no runs in the file; give a calibration CSV, runs CSV or vllm bench serve JSON")
    reasons = sorted({s["reason"] for s in result["skipped"]})
    raise InputError(f"{source}: none of its {result['rows']} runs can be predicted ({'; '.join(reasons[:3])}"
                     f"{'; ...' if len(reasons) > 3 else ''})")
