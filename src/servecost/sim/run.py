"""One simulation run: scenario -> requests, step table, fleet -> trace -> summary and tables."""

import dataclasses
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import hardware
from ..economics import Assumptions, chip_usd_per_hr
from . import metrics
from .engine import Trace, simulate
from .limits import CLI, Guard, Limits
from .scenario import Built, ScenarioIn, build
from .workload import BATCH, Requests


@dataclass
class Result:
    summary: dict
    requests: Requests
    trace: Trace

    def requests_frame(self) -> pd.DataFrame:
        """One row per request: class, lengths, replica, times and latencies, whether it met its target."""
        req, tr = self.requests, self.trace
        slo = self.summary["slo"]
        r = metrics.per_request(req, tr, slo["ttft_s"], slo["tpot_s"])
        return pd.DataFrame({
            "id": np.arange(len(req)), "class": np.where(req.klass == BATCH, "batch", "interactive"),
            "arrival_s": req.arrival_s, "input_tokens": req.input_tokens, "output_tokens": req.output_tokens,
            "replica": tr.replica, "first_token_s": tr.first_token_s, "finish_s": tr.finish_s,
            "ttft_s": r["ttft_s"], "tpot_s": r["tpot_s"], "e2e_s": r["e2e_s"], "preemptions": tr.preemptions,
            "deadline_s": np.where(req.klass == BATCH, req.deadline_s, np.nan), "met_target": r["met"]})

    def series_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.trace.series)


def cost(hw, chips: int, s: dict, a: Assumptions = Assumptions()) -> dict:
    """Fleet $/hour at the simulated mean chip power (own hardware, default assumptions; economics.py)
    and $ per million output tokens actually served."""
    mean_power_w = s["fleet"]["energy_kwh"] * 3.6e6 / (chips * max(s["simulated_s"], 1e-9))
    usd_per_hour = float(chip_usd_per_hr(hw, mean_power_w, a)) * chips
    tokens_per_s = s["fleet"]["output_tokens_per_s"]
    return {"mean_chip_power_w": mean_power_w, "usd_per_hour": usd_per_hour,
            "usd_per_mtok_output": usd_per_hour / (tokens_per_s * 3600) * 1e6 if tokens_per_s else None,
            "assumptions": a.as_dict()}


def mixed_cost(hw, d: dict, s: dict, a: Assumptions = Assumptions()) -> dict:
    """cost() of a mixed fleet: decode chips on `hw`, prefill chips on theirs, both at the mean chip power."""
    phw = hardware.get(d["prefill_hardware"])
    decode, prefill = d["chips_per_replica"] * d["replicas"], d["prefill_chips_per_replica"] * d["prefill_replicas"]
    out = cost(hw, decode + prefill, s, a)
    usd_per_hour = float(chip_usd_per_hr(hw, out["mean_chip_power_w"], a)) * decode \
        + float(chip_usd_per_hr(phw, out["mean_chip_power_w"], a)) * prefill
    tokens_per_s = s["fleet"]["output_tokens_per_s"]
    return out | {"usd_per_hour": usd_per_hour,
                  "usd_per_mtok_output": usd_per_hour / (tokens_per_s * 3600) * 1e6 if tokens_per_s else None}


def run(spec: ScenarioIn, base: Path = Path("."), seed: int | None = None,
        progress: Callable[[int], None] | None = None, built: Built | None = None,
        limits: Limits = CLI, cancel: threading.Event | None = None) -> Result:
    """Simulate a parsed scenario (for `seed`, default the scenario's own) within `limits`; setting
    `cancel` stops it (InputError)."""
    b = built or build(spec, base, seed, limits)
    reach = dataclasses.replace(b.requests, arrival_s=b.requests.arrival_s + b.request_overhead_s)
    t0 = time.perf_counter()
    tr = simulate(reach, b.table, b.config, progress, Guard(limits, cancel, b.estimated_events).check,
                  b.prefill_table)
    wall_s = time.perf_counter() - t0
    requests = b.requests
    if tr.arrival_s is not None:       # closed loop: when each request was sent (it reaches a replica after the overhead)
        requests = dataclasses.replace(requests, arrival_s=tr.arrival_s - b.request_overhead_s)
    hw = hardware.get(spec.hardware)
    s = metrics.summary(requests, tr, spec.slo.ttft_s, spec.slo.tpot_s, hw.idle_wall_w,
                        b.deployment["chips_per_replica"])
    out = {"scenario": spec.name, "seed": spec.seed if seed is None else seed, "deployment": b.deployment,
           "slo": {"ttft_s": spec.slo.ttft_s, "tpot_s": spec.slo.tpot_s},
           "offered_load_frac": b.offered_load_frac, "request_overhead_s": b.request_overhead_s, **s,
           "wall_s": wall_s, "simulated_requests_per_wall_s": len(b.requests) / max(wall_s, 1e-9),
           "steps_per_wall_s": tr.steps / max(wall_s, 1e-9)}
    out["cost"] = cost(hw, b.deployment["chips"], s)
    if b.prefill_table is not None:
        out["cost"] = mixed_cost(hw, b.deployment, s)
    slots = b.config.max_seqs * (b.config.replicas + b.config.prefill_replicas)
    out["fleet"]["slot_occupancy_mean"] = float(tr.series["running"].mean()) / slots if tr.series["running"].size else 0.0
    if tr.overloaded:
        out["overload"] = (f"overloaded: queues grow without bound (over {b.config.overload_queue_factor:g} x "
                           f"replicas x max_seqs waiting at t = {tr.end_s:,.0f} s); offered load is "
                           f"{b.offered_load_frac:.2f}x the fleet's analytical capacity; add replicas or lower the rate")
    return Result(out, requests, tr)
