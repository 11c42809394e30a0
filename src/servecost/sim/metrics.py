"""What a simulation measured, defined once. For request i: arrival a_i, first output token f_i,
last output token e_i, O_i output tokens, class k_i, batch deadline d_i; T = simulated time (last event).

    TTFT_i  = f_i - a_i                      time to first token
    TPOT_i  = (e_i - f_i) / (O_i - 1)        time per output token after the first (O_i > 1)
    ITL     = time between two consecutive tokens of one sequence: the duration of the step that
              made the token; its distribution is over tokens (each step weighs as many tokens as
              it made), so long steps count as often as users see them
    E2E_i   = e_i - a_i                      end-to-end latency
    goodput = #{interactive i: TTFT_i <= TTFT_slo and TPOT_i <= TPOT_slo} / A     (requests/s)
              and #{batch i: e_i <= d_i} / A, per class; A = the last arrival time (the
              offered window, so a long drain does not dilute it)
    deadline miss: a batch request with e_i > d_i or not finished
    U_r     = busy_r / T                     utilisation of replica r (stepping, not idle)
    occupancy = time-average of running requests / (max_seqs x replicas)   how full the batches are
    E       = sum over steps of P_chip(step) * chips * dt  +  sum_r P_idle * chips * (T - busy_r)
    energy per token = E / sum of O_i of finished requests          (J/token)
Percentiles are p50, p90, p99 over finished requests of the class.
"""

import numpy as np

from .engine import Trace
from .workload import BATCH, INTERACTIVE, Requests

CLASSES = {"interactive": INTERACTIVE, "batch": BATCH}


def _stats(x: np.ndarray) -> dict:
    x = x[np.isfinite(x)]
    if not x.size:
        return {"mean": None, "p50": None, "p90": None, "p99": None}
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    return {"mean": float(x.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99)}


def _weighted_stats(values: np.ndarray, weights: np.ndarray) -> dict:
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    if not values.size:
        return {"mean": None, "p50": None, "p90": None, "p99": None}
    order = np.argsort(values)
    v, cum = values[order], np.cumsum(weights[order])
    at = lambda q: float(v[min(int(np.searchsorted(cum, q * cum[-1])), v.size - 1)])  # noqa: E731
    return {"mean": float(np.average(values, weights=weights)), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99)}


def per_request(req: Requests, tr: Trace, ttft_slo_s: float, tpot_slo_s: float) -> dict[str, np.ndarray]:
    """Per-request latencies and whether each met its target (SLO or deadline)."""
    ttft = tr.first_token_s - req.arrival_s
    tpot = np.where(req.output_tokens > 1,
                    (tr.finish_s - tr.first_token_s) / np.maximum(req.output_tokens - 1, 1), np.nan)
    e2e = tr.finish_s - req.arrival_s
    done = np.isfinite(tr.finish_s)
    met_slo = done & (ttft <= ttft_slo_s) & ((req.output_tokens <= 1) | (tpot <= tpot_slo_s))
    met_deadline = done & (tr.finish_s <= req.deadline_s)
    met = np.where(req.klass == BATCH, met_deadline, met_slo)
    return {"ttft_s": ttft, "tpot_s": tpot, "e2e_s": e2e, "done": done, "met": met}


def summary(req: Requests, tr: Trace, ttft_slo_s: float, tpot_slo_s: float, idle_w: float,
            chips_per_replica: int) -> dict:
    """Per-class latency percentiles, goodput and deadline misses; fleet throughput, use and energy."""
    r = per_request(req, tr, ttft_slo_s, tpot_slo_s)
    span_s = max(tr.end_s, 1e-9)
    offered_s = max(float(req.arrival_s.max()), 1e-9)
    classes = {}
    for name, k in CLASSES.items():
        mine = req.klass == k
        if not mine.any():
            continue
        itl_tokens = tr.itl["interactive_tokens" if k == INTERACTIVE else "batch_tokens"]
        c = {"requests": int(mine.sum()), "completed": int((mine & r["done"]).sum()),
             "ttft_s": _stats(r["ttft_s"][mine & r["done"]]), "tpot_s": _stats(r["tpot_s"][mine & r["done"]]),
             "itl_s": _weighted_stats(tr.itl["step_s"], itl_tokens), "e2e_s": _stats(r["e2e_s"][mine & r["done"]]),
             "met_target_frac": float(r["met"][mine].mean()), "goodput_rps": float(r["met"][mine].sum() / offered_s),
             "preemptions": int(tr.preemptions[mine].sum())}
        if k == BATCH:
            c["deadline_misses"] = int((mine & ~r["met"]).sum())
            c["output_tokens_done"] = int(req.output_tokens[mine & r["done"]].sum())
        classes[name] = c
    out_tokens = float(req.output_tokens[r["done"]].sum())
    idle_j = idle_w * chips_per_replica * float(np.maximum(span_s - tr.busy_s, 0).sum())
    energy_j = tr.energy_busy_j + idle_j
    util = tr.busy_s / span_s
    return {
        "requests": len(req), "completed": int(r["done"].sum()), "overloaded": bool(tr.overloaded),
        "simulated_s": float(tr.end_s), "steps": int(tr.steps), "events": int(tr.events),
        "classes": classes,
        "fleet": {"output_tokens_per_s": out_tokens / span_s, "requests_per_s": float(r["done"].sum() / span_s),
                  "utilisation_mean": float(util.mean()), "utilisation_min": float(util.min()),
                  "utilisation_max": float(util.max()), "preemptions": int(tr.preemptions.sum()),
                  "peak_queued": int(tr.series["queued"].max()) if tr.series["queued"].size else 0,
                  "peak_kv_frac": float(tr.series["kv_frac"].max()) if tr.series["kv_frac"].size else 0.0,
                  "energy_kwh": energy_j / 3.6e6,
                  "energy_j_per_output_token": energy_j / out_tokens if out_tokens else None},
    }
