"""How much work a simulation may take, checked before it starts and enforced while it runs.

Before the run, from the drawn requests and the fleet configuration:

    events ~ 4 N + sum(prompt_i) / token_budget + sum(output_i) / (tokens_per_step * MAX_BLOCK_STEPS)
    bytes  ~ B_table (max_seqs + 1) n_ctx n_prefill + B_request N + B_event events

N requests: an arrival, a first token, a finish and a routing decision each (4 N); a prefill step
takes at most token_budget prompt tokens; a decode block advances at most MAX_BLOCK_STEPS steps.
The estimate counts no batching (one event advances a whole batch) and no preemptions: on examples/
it is 2x to 14x the events counted; a replica that thrashes (its KV cache too small for its batch:
sequences preempted and recomputed) takes more, up to 7x the estimate over 445 random small runs.
Bytes, an estimate: measured with tracemalloc while building the step table (115 bytes per entry
at the peak, examples/closed-loop-benchmark.yaml with max_seqs 4096), and per request over runs of
examples/ (under 1.5 kB with the output tables); on two runs near the API limits the estimate was
1.4x and 1.9x the traced peak.

While it runs, the engine calls `Guard.check(events)` every engine.CHECK_EVERY events: past the events
limit or OVERRUN x the estimate, the wall-clock deadline or a cancel (the HTTP client left, the
server stops) it stops the run with an InputError naming the limit.
"""

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..units import GB
from .engine import MAX_BLOCK_STEPS

TABLE_BYTES_PER_ENTRY = 120     # step table: numpy arrays, their list copies, build intermediates
REQUEST_BYTES = 1500            # per request: engine state, trace arrays, per-request table
EVENT_BYTES = 50                # per estimated event: step-time samples, time series



@dataclass(frozen=True)
class Limits:
    """Most work one simulation may take; `how` says how to raise them in the error line."""
    max_events: float
    max_memory_bytes: float
    deadline_s: float = math.inf
    how: str = "--max-events / --max-memory-gb"


OVERRUN = 20                    # x the estimated events: the run is stopped (Guard)
OVERRUN_FLOOR = 100_000         # events always allowed, whatever the estimate

CLI = Limits(max_events=2e9, max_memory_bytes=8 * GB)
API = Limits(max_events=5e6, max_memory_bytes=1.2 * GB, deadline_s=20.0,
             how="the CLI (servecost simulate) for larger runs")


@dataclass(frozen=True)
class Estimate:
    events: float
    memory_bytes: float


def estimate(input_tokens: np.ndarray, output_tokens: np.ndarray, token_budget: int, tokens_per_step: float,
             table_entries: float) -> Estimate:
    """Events and bytes a simulation of these requests takes, about (module docstring)."""
    n = input_tokens.size
    events = 4.0 * n + float(np.sum(input_tokens / token_budget)) \
        + float(np.sum(output_tokens / (tokens_per_step * MAX_BLOCK_STEPS)))
    memory = TABLE_BYTES_PER_ENTRY * table_entries + REQUEST_BYTES * n + EVENT_BYTES * events
    return Estimate(events, memory)


def table_entries(max_seqs: int, max_ctx: float, token_budget: int) -> float:
    """Entries of the step table (steptime.build): (max_seqs + 1) x context grid x prefill grid."""
    ratio = 2 ** 0.25      # steptime.RATIO
    n_ctx = math.ceil(math.log(max(max_ctx, 32) / 16) / math.log(ratio)) + 1
    n_pre = math.ceil(math.log(max(token_budget, 32) / 16) / math.log(ratio)) + 2
    return float(max_seqs + 1) * n_ctx * n_pre


def check(est: Estimate, limits: Limits) -> None:
    """InputError when the estimate is over a limit, naming the limit and what to lower."""
    if est.events > limits.max_events:
        raise InputError(f"workload: about {est.events:,.3g} events to simulate; the limit is "
                         f"{limits.max_events:,.3g}: lower rate_per_s, duration_s or output_tokens, "
                         f"or raise it with {limits.how}")
    if est.memory_bytes > limits.max_memory_bytes:
        raise InputError(f"fleet: the simulation would take about {est.memory_bytes / GB:,.1f} GB; the limit is "
                         f"{limits.max_memory_bytes / GB:,.1f} GB: lower fleet.max_seqs, fleet.token_budget or "
                         f"the request count, or raise it with {limits.how}")


class Guard:
    """Stops a running simulation: over its events (the limit, or OVERRUN x its estimate: a run that
    passes the estimate that many times over thrashes or loops), past its deadline, or cancelled."""

    def __init__(self, limits: Limits, cancel: threading.Event | None = None, estimated_events: float = math.inf):
        self.limits = limits
        self.cancel = cancel
        self.t0 = time.monotonic()
        self.overrun_at = OVERRUN * estimated_events + OVERRUN_FLOOR

    def check(self, events: int) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise InputError("simulation cancelled (the client left or the server is stopping)")
        if events > self.overrun_at:
            raise InputError(f"simulation stopped after {events:,} events, {OVERRUN}x the estimate: the fleet "
                             "thrashes (preempting and recomputing); give it more KV cache (fleet.kv_tokens, "
                             "kv_dtype: fp8) or fewer sequences (fleet.max_seqs)")
        if events > self.limits.max_events:
            raise InputError(f"simulation stopped after {events:,} events, the limit; lower rate_per_s or "
                             f"duration_s, or raise it with {self.limits.how}")
        if time.monotonic() - self.t0 > self.limits.deadline_s:
            raise InputError(f"simulation stopped after {self.limits.deadline_s:g} s, this server's limit per "
                             f"request; lower rate_per_s or duration_s, or use {self.limits.how}")
