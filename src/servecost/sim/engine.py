"""The event loop: requests are routed to replicas (router.py); each replica runs continuous batching
(replica.py).

Batch requests wait in one fleet-wide queue ordered by deadline (earliest first); a replica takes
them only when no interactive request waits and it runs fewer than `batch_max_seqs` of them, so
batch work fills spare capacity.

Speculative decoding (MTP): each decode step emits `tokens_per_step` tokens per sequence on average
(the step table prices the k drafts and the (k+1)-token verification), so a sequence needs
ceil(remaining / tokens_per_step) steps and its KV grows that much per step.

Disaggregated serving: `prefill_replicas` replicas only prefill; when a prompt is done its first
token is out, its KV moves to the decode pool (latency + tokens x per-token transfer time) and a
decode replica admits it straight into decoding.

Closed loop (`closed_loop_clients` = c, as `vllm bench serve --max-concurrency c` runs): the first c
requests arrive at their given times, and each one that ends sends the next request at once.

One heap of (t_s, seq, kind, who) (events.py) holds each replica's next step boundary (STEP), KV
hand-offs (HANDOFF) and closed-loop arrivals (CLIENT); requests with given arrival times are read in
order from their sorted times and go first on a tie. Each handler returns the events it causes, which
the loop pushes in that order, numbered by the simulator's own counter `seq` (the tie-break). A
replica's STEP event is current only while its seq is the replica's `pending` one (a cut decode block
pushes a new one). Deterministic: randomness lives in the workload.
"""

import math
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Callable

import numpy as np

from .events import ARRIVAL, CLIENT, HANDOFF, STEP, Kind
from .replica import DECODE, MAX_BLOCK_STEPS, MIXED, PREFILL, Fleet, Replica
from .router import ROUTERS as ROUTER_FUNCTIONS
from .steptime import StepTable
from .workload import BATCH, INTERACTIVE, Requests

CHECK_EVERY = 4096          # events between calls of the guard (limits.py)
ROUTERS = tuple(ROUTER_FUNCTIONS)
__all__ = ["ARRIVAL", "CHECK_EVERY", "CLIENT", "Config", "HANDOFF", "Kind", "MAX_BLOCK_STEPS", "ROUTERS", "STEP",
           "Simulator", "Trace", "simulate", "MIXED", "PREFILL", "DECODE"]


@dataclass
class Config:
    replicas: int = 1                    # aggregated replicas, or the decode pool when prefill_replicas > 0
    prefill_replicas: int = 0            # disaggregated: replicas that only prefill
    max_seqs: int = 256                  # running sequences per replica (vLLM max_num_seqs)
    token_budget: int = 8192             # tokens per step (vLLM max_num_batched_tokens)
    kv_tokens: int = 1_000_000           # KV cache capacity per replica, tokens
    router: str = "least_tokens"         # see ROUTERS
    batch_max_seqs: int = 0              # batch-class sequences a replica runs at most (0: max_seqs)
    kv_transfer_latency_s: float = 0.0   # disaggregated hand-off: fixed part
    kv_transfer_s_per_token: float = 0.0  # and per prompt token (KV bytes per token / network bytes/s)
    tokens_per_step: float = 1.0         # speculative decoding: mean tokens a sequence emits per decode step
    admission_steps: float = 0.0         # a request reaching a busy replica waits this many more of its step
                                         # boundaries before the scheduler may admit it (serving.py's k)
    closed_loop_clients: int = 0         # > 0: that many clients, each sends its next request when the last ends
    closed_loop_delay_s: float = 0.0     # from a request's end to its successor reaching a replica
    overload_queue_factor: float = 20.0  # stop when waiting interactive requests exceed this x replicas x max_seqs
    samples: int = 400                   # time-series points


@dataclass
class Trace:
    """What the simulation recorded, per request, per replica and over time."""
    first_token_s: np.ndarray
    finish_s: np.ndarray
    replica: np.ndarray
    preemptions: np.ndarray
    busy_s: np.ndarray                    # per replica
    energy_busy_j: float                  # all chips, while stepping
    steps: int
    events: int
    end_s: float
    overloaded: bool
    itl: dict = field(default_factory=dict)       # step_s, interactive_tokens, batch_tokens per step group
    series: dict = field(default_factory=dict)    # t, queued, batch_queued, running, kv_frac
    arrival_s: np.ndarray | None = None           # closed loop: when each request was sent


class Simulator:
    """A fleet of replicas, its event heap and its clock."""

    def __init__(self, req: Requests, table: StepTable, cfg: Config, prefill_table: StepTable | None = None):
        self.req, self.cfg = req, cfg
        n_entry = cfg.prefill_replicas or cfg.replicas
        disagg = cfg.prefill_replicas > 0
        self.disagg = disagg
        n_reps = cfg.prefill_replicas + cfg.replicas
        self.fleet = fleet = Fleet(req, cfg, n_reps, n_entry)
        roles = [PREFILL] * cfg.prefill_replicas + [DECODE if disagg else MIXED] * cfg.replicas
        self.reps = [Replica(r, role, fleet, table, prefill_table) for r, role in enumerate(roles)]
        self.entry = slice(0, n_entry)
        self.decode_pool = slice(cfg.prefill_replicas, n_reps) if disagg else self.entry
        self.route = ROUTER_FUNCTIONS.get(cfg.router, ROUTER_FUNCTIONS["least_tokens"])
        self.n_static = fleet.next_closed               # requests whose arrival times are given
        self.overload_at = cfg.overload_queue_factor * n_entry * cfg.max_seqs
        self.heap: list = []
        self.seq = 0
        self.events = 0
        self.series = {"t": [], "queued": [], "batch_queued": [], "running": [], "kv_frac": []}

    def push(self, caused) -> None:
        """Put the caused events (t_s, kind, who) on the heap, numbered in the order given."""
        for t, kind, who in caused:
            self.seq += 1
            heappush(self.heap, (t, self.seq, kind, who))
            if kind is STEP:
                self.reps[who].pending = self.seq

    def arrive(self, i: int, now: float, out: list) -> bool:
        """Request i arrives at now: to the batch queue, or routed to a replica. False: overloaded."""
        fleet = self.fleet
        fleet.enter(i)
        if fleet.klass[i] == BATCH:
            heappush(fleet.batch_queue, (fleet.deadline.item(i), i))
            if fleet.idle_entry:
                self.reps[min(fleet.idle_entry)].wake(now, out)
            return True
        r = self.route(fleet, self.entry, True)
        rep = self.reps[r]
        fleet.where[i] = r
        fleet.admit_after[i] = rep.admission_boundary(i, now)
        rep.enqueue(i)
        fleet.queued += 1
        fleet.load[r] += 1
        fleet.tokens[r] += fleet.prompt[i] + (0 if self.disagg else fleet.out_left[i])
        rep.wake(now, out, fleet.admit_after[i])
        return fleet.queued <= self.overload_at

    def on_client(self, rid: int, t: float) -> list:
        """Closed loop: a client's next request reaches the fleet."""
        out: list = []
        self.arrive(rid, t, out)
        return out

    def on_handoff(self, rid: int, t: float) -> list:
        """A prefilled request's KV reaches the decode pool: route it there to decode."""
        fleet, out = self.fleet, []
        r = self.route(fleet, self.decode_pool, self.decode_pool is self.entry)
        rep = self.reps[r]
        fleet.where[rid] = r
        fleet.admit_after[rid] = 0           # its KV is here: the decode replica takes it at its next boundary
        rep.enqueue(rid)
        fleet.queued += fleet.klass[rid] == INTERACTIVE
        fleet.load[r] += 1
        fleet.tokens[r] += fleet.out_left[rid]
        rep.wake(t, out)
        return out

    def on_step(self, r: int, t: float) -> list:
        """Replica r's step or decode block ends."""
        return self.reps[r].end_step(t)

    def sample(self, t: float) -> None:
        fleet, s = self.fleet, self.series
        s["t"].append(t)
        s["queued"].append(fleet.queued)
        s["batch_queued"].append(len(fleet.batch_queue))
        s["running"].append(sum(len(x.decoding) + len(x.prefilling) for x in self.reps))
        s["kv_frac"].append(sum(x.kv_used for x in self.reps) / (self.cfg.kv_tokens * len(self.reps)))

    def run(self, progress: Callable[[int], None] | None = None,
            guard: Callable[[int], None] | None = None) -> Trace:
        """Pop events until none is left (or the fleet is overloaded); returns the Trace."""
        arrival, n_static, heap, reps, seq = self.fleet.arrival, self.n_static, self.heap, self.reps, self.seq
        handlers = (None, self.on_client, self.on_handoff, self.on_step)     # indexed by Kind (ARRIVAL: the loop)
        horizon = arrival[-1] if arrival else 1.0
        sample_every = horizon / self.cfg.samples if math.isfinite(horizon) else 0.5   # closed loop: end unknown
        next_sample, now, overloaded, events, i = 0.0, 0.0, False, 0, 0
        next_arrival = arrival[0] if n_static else math.inf
        while i < n_static or heap:
            events += 1
            if guard is not None and not events % CHECK_EVERY:
                guard(events)
            if i < n_static and (not heap or next_arrival <= heap[0][0]):
                now, caused = next_arrival, []
                if not self.arrive(i, now, caused):
                    overloaded = True
                    break
                i += 1
                next_arrival = arrival[i] if i < n_static else math.inf
                if progress and not i & 0xFFFF:
                    progress(i)
            else:
                now, n, kind, who = heappop(heap)
                if kind is STEP:                 # self.on_step, inlined; a step cut short since is skipped
                    rep = reps[who]
                    caused = rep.end_step(now) if n == rep.pending else ()
                else:
                    caused = handlers[kind](who, now)
            for t, kind, who in caused:      # push what the handler caused, numbered in its order (self.push)
                seq += 1
                heappush(heap, (t, seq, kind, who))
                if kind is STEP:
                    reps[who].pending = seq
            if now >= next_sample:
                self.sample(now)
                next_sample = now + sample_every
        self.seq = seq
        self.sample(now)
        if progress:
            progress(i)
        self.events = events
        return self.trace(now, overloaded)

    def trace(self, end_s: float, overloaded: bool) -> Trace:
        f = self.fleet
        arrival_s = _view(f.arrival, np.float64) if self.cfg.closed_loop_clients else self.req.arrival_s
        itl = {"step_s": _view(f.itl_step, np.float64), "interactive_tokens": _view(f.itl_i, np.float64),
               "batch_tokens": _view(f.itl_b, np.float64)}
        return Trace(_view(f.first, np.float64), _view(f.finish, np.float64), _view(f.where, np.int32),
                     _view(f.preempt, np.int32), np.array([x.busy for x in self.reps]),
                     f.energy, f.steps, self.events, end_s, overloaded, itl,
                     {k: np.asarray(v, dtype=float) for k, v in self.series.items()}, arrival_s)


def _view(values, dtype) -> np.ndarray:
    """A typed array (array module) as a numpy vector sharing its memory (no copy)."""
    return np.frombuffer(values, dtype=dtype)


def simulate(req: Requests, table: StepTable, cfg: Config,
             progress: Callable[[int], None] | None = None, guard: Callable[[int], None] | None = None,
             prefill_table: StepTable | None = None) -> Trace:
    """Run every request through the fleet; `progress(arrivals_done)` is called now and then, and
    `guard(events)` every CHECK_EVERY events (it raises to stop the run: limits.Guard).
    `prefill_table`: the prefill replicas' steps when they run on another accelerator (a mixed fleet)."""
    return Simulator(req, table, cfg, prefill_table).run(progress, guard)
