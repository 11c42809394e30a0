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

from dataclasses import dataclass

import numpy as np

from ..units import HOUR_S, KW
from .engine import Trace
from .summary import ClassSummary, FleetSummary, Stats
from .workload import BATCH, INTERACTIVE, Requests

CLASSES = {"interactive": INTERACTIVE, "batch": BATCH}
J_PER_KWH = KW * HOUR_S      # 1 kWh = 1,000 W for 3,600 s


def _stats(x: np.ndarray) -> Stats:
    x = x[np.isfinite(x)]
    if not x.size:
        return Stats(None, None, None, None)
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    return Stats(float(x.mean()), float(p50), float(p90), float(p99))


def _weighted_stats(values: np.ndarray, weights: np.ndarray) -> Stats:
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    if not values.size:
        return Stats(None, None, None, None)
    order = np.argsort(values)
    v, cum = values[order], np.cumsum(weights[order])
    at = lambda q: float(v[min(int(np.searchsorted(cum, q * cum[-1])), v.size - 1)])  # noqa: E731
    return Stats(float(np.average(values, weights=weights)), at(0.5), at(0.9), at(0.99))


@dataclass(frozen=True, slots=True)
class Latencies:
    """Per-request latencies (s; NaN where undefined) and whether each request finished and met its
    target (SLO or deadline)."""
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    e2e_s: np.ndarray
    done: np.ndarray
    met: np.ndarray


def per_request(req: Requests, tr: Trace, ttft_slo_s: float, tpot_slo_s: float) -> Latencies:
    """Per-request latencies and whether each met its target (SLO or deadline)."""
    ttft = tr.first_token_s - req.arrival_s
    tpot = np.where(req.output_tokens > 1,
                    (tr.finish_s - tr.first_token_s) / np.maximum(req.output_tokens - 1, 1), np.nan)
    e2e = tr.finish_s - req.arrival_s
    done = np.isfinite(tr.finish_s)
    met_slo = done & (ttft <= ttft_slo_s) & ((req.output_tokens <= 1) | (tpot <= tpot_slo_s))
    met_deadline = done & (tr.finish_s <= req.deadline_s)
    met = np.where(req.klass == BATCH, met_deadline, met_slo)
    return Latencies(ttft, tpot, e2e, done, met)


def offered_s(req: Requests) -> float:
    """A: the offered window, the last arrival time (s)."""
    return max(float(req.arrival_s.max()), 1e-9)


def class_summary(req: Requests, tr: Trace, lat: Latencies, k: int) -> ClassSummary:
    """Latency percentiles, targets met, goodput and preemptions of class k's requests."""
    mine = req.klass == k
    fin = mine & lat.done
    itl_tokens = tr.itl["interactive_tokens" if k == INTERACTIVE else "batch_tokens"]
    batch = k == BATCH
    return ClassSummary(
        requests=int(mine.sum()), completed=int(fin.sum()), ttft_s=_stats(lat.ttft_s[fin]),
        tpot_s=_stats(lat.tpot_s[fin]), itl_s=_weighted_stats(tr.itl["step_s"], itl_tokens),
        e2e_s=_stats(lat.e2e_s[fin]), met_target_frac=float(lat.met[mine].mean()),
        goodput_rps=float(lat.met[mine].sum() / offered_s(req)), preemptions=int(tr.preemptions[mine].sum()),
        deadline_misses=int((mine & ~lat.met).sum()) if batch else None,
        output_tokens_done=int(req.output_tokens[fin].sum()) if batch else None)


def classes(req: Requests, tr: Trace, lat: Latencies) -> dict[str, ClassSummary]:
    """A ClassSummary per class the workload has, interactive first."""
    return {name: class_summary(req, tr, lat, k) for name, k in CLASSES.items() if (req.klass == k).any()}


def energy_j(tr: Trace, idle_w: float, chips_per_replica: int) -> float:
    """E = stepping energy + P_idle x chips x idle time of each replica (J)."""
    span_s = max(tr.end_s, 1e-9)
    idle_j = idle_w * chips_per_replica * float(np.maximum(span_s - tr.busy_s, 0).sum())
    return tr.energy_busy_j + idle_j


def fleet_summary(req: Requests, tr: Trace, lat: Latencies, idle_w: float, chips_per_replica: int,
                  slots: int) -> FleetSummary:
    """Throughput, utilisation, queues, KV, energy and slot occupancy (of `slots` = max_seqs x
    replicas) of the whole fleet."""
    span_s = max(tr.end_s, 1e-9)
    out_tokens = float(req.output_tokens[lat.done].sum())
    e_j = energy_j(tr, idle_w, chips_per_replica)
    util = tr.busy_s / span_s
    series = tr.series
    return FleetSummary(
        output_tokens_per_s=out_tokens / span_s, requests_per_s=float(lat.done.sum() / span_s),
        utilisation_mean=float(util.mean()), utilisation_min=float(util.min()), utilisation_max=float(util.max()),
        preemptions=int(tr.preemptions.sum()),
        peak_queued=int(series["queued"].max()) if series["queued"].size else 0,
        peak_kv_frac=float(series["kv_frac"].max()) if series["kv_frac"].size else 0.0,
        energy_kwh=e_j / J_PER_KWH, energy_j_per_output_token=e_j / out_tokens if out_tokens else None,
        slot_occupancy_mean=float(series["running"].mean()) / slots if series["running"].size else 0.0)
