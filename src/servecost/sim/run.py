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
from .scenario import Built, build
from .schema import ScenarioIn
from .summary import CostSummary, DeploymentSummary, FleetSummary, SloSummary, Summary
from .workload import BATCH, Requests


@dataclass
class Result:
    """A simulation's results. `summary` (a sim.summary.Summary) holds the figures as attributes:
    `summary.classes["interactive"].ttft_s.p99`, `summary.fleet.output_tokens_per_s`,
    `summary.deployment.max_seqs`, `summary.cost.usd_per_mtok_output`, `summary.overload` (None unless
    overloaded); `as_dict()` is the JSON of `servecost simulate --format json`. `requests` are the
    simulated requests and `trace` what the engine recorded; the frames below tabulate them."""
    summary: Summary
    requests: Requests
    trace: Trace

    def as_dict(self) -> dict:
        """The summary as JSON holds it (summary.json)."""
        return self.summary.as_dict()

    def requests_frame(self) -> pd.DataFrame:
        """One row per request: class, lengths, replica, times and latencies, whether it met its target."""
        req, tr, slo = self.requests, self.trace, self.summary.slo
        lat = metrics.per_request(req, tr, slo.ttft_s, slo.tpot_s)
        return pd.DataFrame({
            "id": np.arange(len(req)), "class": np.where(req.klass == BATCH, "batch", "interactive"),
            "arrival_s": req.arrival_s, "input_tokens": req.input_tokens, "output_tokens": req.output_tokens,
            "replica": tr.replica, "first_token_s": tr.first_token_s, "finish_s": tr.finish_s,
            "ttft_s": lat.ttft_s, "tpot_s": lat.tpot_s, "e2e_s": lat.e2e_s, "preemptions": tr.preemptions,
            "deadline_s": np.where(req.klass == BATCH, req.deadline_s, np.nan), "met_target": lat.met})

    def series_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.trace.series)


SimResult = Result


def _usd_per_mtok(usd_per_hour: float, tokens_per_s: float) -> float | None:
    """$ per million output tokens at `usd_per_hour` serving `tokens_per_s` (None: nothing served)."""
    return usd_per_hour / (tokens_per_s * 3600) * 1e6 if tokens_per_s else None


def cost(hw, chips: int, fleet: FleetSummary, simulated_s: float, a: Assumptions = Assumptions()) -> CostSummary:
    """Fleet $/hour at the simulated mean chip power (own hardware, default assumptions; economics.py)
    and $ per million output tokens actually served."""
    mean_power_w = fleet.energy_kwh * metrics.J_PER_KWH / (chips * max(simulated_s, 1e-9))
    usd_per_hour = float(chip_usd_per_hr(hw, mean_power_w, a)) * chips
    return CostSummary(mean_power_w, usd_per_hour, _usd_per_mtok(usd_per_hour, fleet.output_tokens_per_s), a)


def mixed_cost(hw, d: DeploymentSummary, fleet: FleetSummary, simulated_s: float,
               a: Assumptions = Assumptions()) -> CostSummary:
    """cost() of a mixed fleet: decode chips on `hw`, prefill chips on theirs, both at the mean chip power."""
    phw = hardware.get(d.prefill_hardware)
    decode, prefill = d.chips_per_replica * d.replicas, d.prefill_chips_per_replica * d.prefill_replicas
    mean_power_w = cost(hw, decode + prefill, fleet, simulated_s, a).mean_chip_power_w
    usd_per_hour = float(chip_usd_per_hr(hw, mean_power_w, a)) * decode \
        + float(chip_usd_per_hr(phw, mean_power_w, a)) * prefill
    return CostSummary(mean_power_w, usd_per_hour, _usd_per_mtok(usd_per_hour, fleet.output_tokens_per_s), a)


def _overload(b: Built, tr: Trace) -> str | None:
    """The warning of an overloaded run, naming the queue limit, the time and the offered load."""
    if not tr.overloaded:
        return None
    return (f"overloaded: queues grow without bound (over {b.config.overload_queue_factor:g} x "
            f"replicas x max_seqs waiting at t = {tr.end_s:,.0f} s); offered load is "
            f"{b.offered_load_frac:.2f}x the fleet's analytical capacity; add replicas or lower the rate")


def summarise(spec: ScenarioIn, b: Built, requests: Requests, tr: Trace, seed: int | None, wall_s: float) -> Summary:
    """The Summary of a finished run: what was simulated, the per-class and fleet metrics, the cost."""
    hw = hardware.get(spec.hardware)
    d = b.deployment
    slo = SloSummary(spec.slo.ttft_s, spec.slo.tpot_s)
    lat = metrics.per_request(requests, tr, slo.ttft_s, slo.tpot_s)
    slots = b.config.max_seqs * (b.config.replicas + b.config.prefill_replicas)
    fleet = metrics.fleet_summary(requests, tr, lat, hw.idle_wall_w, d.chips_per_replica, slots)
    simulated_s = float(tr.end_s)
    return Summary(
        scenario=spec.name, seed=spec.seed if seed is None else seed, deployment=d, slo=slo,
        offered_load_frac=b.offered_load_frac, request_overhead_s=b.request_overhead_s,
        requests=len(requests), completed=int(lat.done.sum()), overloaded=bool(tr.overloaded),
        simulated_s=simulated_s, steps=int(tr.steps), events=int(tr.events),
        classes=metrics.classes(requests, tr, lat), fleet=fleet, wall_s=wall_s,
        simulated_requests_per_wall_s=len(b.requests) / max(wall_s, 1e-9),
        steps_per_wall_s=tr.steps / max(wall_s, 1e-9),
        cost=mixed_cost(hw, d, fleet, simulated_s) if b.prefill_table is not None
        else cost(hw, d.chips, fleet, simulated_s),
        overload=_overload(b, tr))


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
    return Result(summarise(spec, b, requests, tr, seed, wall_s), requests, tr)
