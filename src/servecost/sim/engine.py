"""The event loop: requests are routed to replicas; each replica runs continuous batching.

Scheduler of a replica, in the manner of vLLM: at every step boundary it admits waiting requests
(interactive first, FIFO) while it has fewer than `max_seqs` running and KV room for the prompt,
then runs one step that decodes every running sequence and prefills prompt chunks up to
`token_budget` tokens (chunked prefill). When the paged KV cache cannot hold one more token per
running sequence, the newest sequence is preempted and recomputed later (its tokens so far become
prompt). An interactive request that finds the replica full preempts a running batch request.

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

One heap of (time_s, seq, who, version) holds each replica's next step boundary (who >= 0), KV
hand-offs (who = -1 - request) and closed-loop arrivals (who = -1 - n_requests - request). A replica that only decodes advances many steps in one event (a
block) until a sequence finishes, its KV fills, or new work cuts the block at the next step
boundary. Deterministic: ties are broken by a counter, randomness lives in the workload.
"""

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .steptime import StepTable
from .workload import BATCH, INTERACTIVE, Requests

MAX_BLOCK_STEPS = 64        # re-read the step time as contexts grow
CHECK_EVERY = 4096          # events between calls of the guard (limits.py)
MIXED, PREFILL, DECODE = 0, 1, 2
ROUTERS = ("least_tokens", "round_robin", "shortest_queue")


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


class Replica:
    __slots__ = ("role", "waiting", "prefilling", "prefill_done", "heap", "decoding", "n_batch", "n_batch_dec", "D",
                 "sum_prompt", "sum_start", "kv_used", "version", "blk_t0", "blk_step", "blk_k", "blk_power",
                 "busy", "until")

    def __init__(self, role: int):
        self.role = role
        self.waiting: deque = deque()      # request ids (interactive ahead of batch)
        self.prefilling: list = []         # request ids being prefilled, FIFO
        self.prefill_done: dict = {}       # rid -> prompt tokens already prefilled
        self.heap: list = []               # (finish step D, rid) of decoding sequences
        self.decoding: set = set()
        self.n_batch = 0                   # batch-class requests prefilling or decoding
        self.n_batch_dec = 0               # batch-class requests decoding
        self.D = 0                         # decode steps taken
        self.sum_prompt = 0                # sum of prompts of decoding sequences
        self.sum_start = 0                 # sum of the D at which each decoding sequence started
        self.kv_used = 0
        self.version = 0
        self.blk_t0 = 0.0
        self.blk_step = 0.0                # 0: not in a decode block
        self.blk_k = 0
        self.blk_power = 0.0
        self.busy = 0.0
        self.until = -1.0                  # end of the step or block in progress (-1: idle)


def simulate(req: Requests, table: StepTable, cfg: Config,
             progress: Callable[[int], None] | None = None, guard: Callable[[int], None] | None = None,
             prefill_table: StepTable | None = None) -> Trace:
    """Run every request through the fleet; `progress(arrivals_done)` is called now and then, and
    `guard(events)` every CHECK_EVERY events (it raises to stop the run: limits.Guard).
    `prefill_table`: the prefill replicas' steps when they run on another accelerator (a mixed fleet)."""
    n_req = len(req)
    # per-request state as Python lists: scalar access is several times faster than numpy's
    arrival = req.arrival_s.tolist()
    klass = req.klass.tolist()
    deadline = req.deadline_s.tolist()
    prompt = req.input_tokens.tolist()          # grows on preemption (recompute)
    cached = req.cached_tokens.tolist()         # prefix-cache hits: held in KV, not prefilled
    out_left = req.output_tokens.tolist()
    first = [math.nan] * n_req
    finish = [math.nan] * n_req
    start_d = [0] * n_req
    finish_at = [0] * n_req                     # the decode step at which a sequence's last token is out
    tps = cfg.tokens_per_step
    n_static = n_req                            # requests whose arrival times are given
    if cfg.closed_loop_clients:                 # benchmark clients: the first wave at 0, then one per finish
        n_static = min(cfg.closed_loop_clients, n_req)
        arrival = arrival[:n_static] + [math.inf] * (n_req - n_static)   # the first requests' times as given
    next_closed = n_static
    where = [-1] * n_req
    preempt = [0] * n_req
    prefilled = [False] * n_req                 # KV handed over, ready to decode
    n_entry = cfg.prefill_replicas or cfg.replicas
    disagg = cfg.prefill_replicas > 0
    reps = [Replica(PREFILL) for _ in range(cfg.prefill_replicas)] + \
        [Replica(DECODE if disagg else MIXED) for _ in range(cfg.replicas)]
    entry = slice(0, n_entry)
    decode_pool = slice(cfg.prefill_replicas, len(reps)) if disagg else entry
    batch_cap = cfg.batch_max_seqs or cfg.max_seqs
    tokens = np.zeros(len(reps))        # tokens each replica still has to process (router state)
    load = np.zeros(len(reps))          # requests each replica holds or queues (router state)
    heap: list = []
    batch_queue: list = []              # (deadline_s, rid), fleet-wide
    idle_entry: set = set(range(n_entry))
    seq = 0
    energy = 0.0
    steps = 0
    events = 0
    rr = -1
    overload_at = cfg.overload_queue_factor * n_entry * cfg.max_seqs
    queued = 0                          # interactive requests waiting
    itl_step, itl_i, itl_b = [], [], []
    horizon = arrival[-1] if n_req else 1.0
    sample_every = horizon / cfg.samples if math.isfinite(horizon) else 0.5   # closed loop: end unknown
    next_sample = 0.0
    series = {"t": [], "queued": [], "batch_queued": [], "running": [], "kv_frac": []}
    now = 0.0
    overloaded = False

    def push(t, who, version):
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, who, version))

    def ctx_mean(rep):
        n = len(rep.decoding)
        return (rep.sum_prompt + tps * (n * (rep.D + 1) - rep.sum_start)) / n if n else 0.0

    def enqueue(rep, rid):
        """Interactive requests queue ahead of batch ones (FIFO within a class)."""
        if klass[rid] == INTERACTIVE and rep.waiting and klass[rep.waiting[-1]] != INTERACTIVE:
            for pos, other in enumerate(rep.waiting):
                if klass[other] != INTERACTIVE:
                    rep.waiting.insert(pos, rid)
                    return
        rep.waiting.append(rid)

    def add_decoding(rep, rid):
        start_d[rid] = rep.D
        rep.decoding.add(rid)
        rep.n_batch_dec += klass[rid]
        rep.sum_prompt += prompt[rid]
        rep.sum_start += rep.D
        finish_at[rid] = rep.D + math.ceil(out_left[rid] / tps - 1e-9)
        heapq.heappush(rep.heap, (finish_at[rid], rid))

    def drop_decoding(rep, rid):
        rep.decoding.discard(rid)
        rep.n_batch_dec -= klass[rid]
        rep.sum_prompt -= prompt[rid]
        rep.sum_start -= start_d[rid]
        rep.kv_used -= prompt[rid] + (rep.D - start_d[rid]) * tps

    def release(rep, r, rid):
        rep.n_batch -= klass[rid] == BATCH
        load[r] -= 1

    def client_next(t):
        """Closed loop: the client whose request just ended sends the next one."""
        nonlocal next_closed
        if cfg.closed_loop_clients and next_closed < n_req:
            arrival[next_closed] = t + cfg.closed_loop_delay_s
            push(t + cfg.closed_loop_delay_s, -1 - n_req - next_closed, 0)
            next_closed += 1

    def prefill_complete(rep, r, rid, t):
        """A prompt is prefilled at t: the step emits a token; decode here or hand the KV over."""
        if math.isnan(first[rid]):
            first[rid] = t
        out_left[rid] -= 1
        if out_left[rid] <= 0:
            finish[rid] = t
            rep.kv_used -= prompt[rid]
            release(rep, r, rid)
            client_next(t)
        elif rep.role == PREFILL:
            rep.kv_used -= prompt[rid]
            release(rep, r, rid)
            prefilled[rid] = True
            push(t + cfg.kv_transfer_latency_s + cfg.kv_transfer_s_per_token * prompt[rid], -1 - rid, 0)
        else:
            add_decoding(rep, rid)

    def finish_due(rep, t, r):
        while rep.heap and rep.heap[0][0] <= rep.D:
            _, rid = heapq.heappop(rep.heap)
            if rid not in rep.decoding or finish_at[rid] > rep.D:
                continue                  # preempted since (or re-admitted with a later finish)
            drop_decoding(rep, rid)
            finish[rid] = t
            release(rep, r, rid)
            client_next(t)

    def preempt_one(rep, r, batch_only=False):
        """Preempt the newest running sequence (batch ones first); it will be recomputed."""
        nonlocal queued
        pool = [x for x in rep.decoding if klass[x] == BATCH] if rep.n_batch_dec else []
        pool = pool or ([] if batch_only else list(rep.decoding))
        if not pool:
            return False
        rid = max(pool, key=lambda x: start_d[x])
        generated = min(round((rep.D - start_d[rid]) * tps), out_left[rid] - 1)
        drop_decoding(rep, rid)
        release(rep, r, rid)
        out_left[rid] -= generated
        prompt[rid] += generated                 # recompute: the tokens so far are prefilled again
        prefilled[rid] = False
        preempt[rid] += 1
        tokens[r] -= out_left[rid]
        if klass[rid] == BATCH and rep.role != DECODE:
            heapq.heappush(batch_queue, (deadline[rid], rid))
            return True
        (rep.waiting.appendleft if klass[rid] == INTERACTIVE else rep.waiting.append)(rid)
        queued += klass[rid] == INTERACTIVE
        load[r] += 1
        tokens[r] += prompt[rid] + out_left[rid]
        return True

    def place(rep, r, rid):
        rep.kv_used += prompt[rid]
        rep.n_batch += klass[rid] == BATCH
        if prefilled[rid]:
            add_decoding(rep, rid)
        else:
            rep.prefilling.append(rid)
            rep.prefill_done[rid] = min(cached[rid], prompt[rid] - 1)

    def admit(rep, r):
        nonlocal queued
        while True:
            running = len(rep.decoding) + len(rep.prefilling)
            if rep.waiting:
                rid = rep.waiting[0]
                if klass[rid] == BATCH and rep.n_batch >= batch_cap:
                    return
                if running < cfg.max_seqs and (rep.kv_used + prompt[rid] + 1 <= cfg.kv_tokens or not running):
                    rep.waiting.popleft()
                    queued -= klass[rid] == INTERACTIVE
                    place(rep, r, rid)
                    continue
                if klass[rid] == INTERACTIVE and preempt_one(rep, r, batch_only=True):
                    continue
                return
            if not batch_queue or rep.role == DECODE or running >= cfg.max_seqs or rep.n_batch >= batch_cap:
                return
            _, rid = batch_queue[0]
            if rep.kv_used + prompt[rid] + 1 > cfg.kv_tokens and running:
                return
            heapq.heappop(batch_queue)
            where[rid] = r
            load[r] += 1
            tokens[r] += prompt[rid] + out_left[rid]
            place(rep, r, rid)

    def decide(r, t):
        """At a step boundary of replica r: admit, then run one mixed step or a decode block (preempting
        sequences, one at a time, until the KV cache has room for a step)."""
        while step_or_block(r, t):
            pass

    def step_or_block(r, t) -> bool:
        """Start replica r's next step or block at t; True when it preempted a sequence instead (try again)."""
        nonlocal energy, steps
        rep = reps[r]
        admit(rep, r)
        n = len(rep.decoding)
        if rep.prefilling:
            if n and rep.kv_used + n * tps > cfg.kv_tokens:
                preempt_one(rep, r)
                n = len(rep.decoding)
            budget = max(cfg.token_budget - n, 1)
            chunk, plan = 0, []
            for rid in rep.prefilling:
                take = min(prompt[rid] - rep.prefill_done[rid], budget - chunk)
                if take <= 0:
                    break
                plan.append((rid, take))
                chunk += take
            tab = prefill_table if prefill_table is not None and rep.role == PREFILL else table
            step_s, power = tab.lookup(n, ctx_mean(rep), chunk)
            end = t + step_s
            if n:
                rep.D += 1
                rep.kv_used += n * tps
                n_b = rep.n_batch_dec
                itl_step.append(step_s / tps), itl_i.append((n - n_b) * tps), itl_b.append(n_b * tps)
            for rid, take in plan:
                rep.prefill_done[rid] += take
            tokens[r] -= chunk + n * tps
            for rid, _ in plan:
                if rep.prefill_done[rid] >= prompt[rid]:
                    rep.prefilling.remove(rid)
                    del rep.prefill_done[rid]
                    prefill_complete(rep, r, rid, end)
            finish_due(rep, end, r)
            rep.blk_step, rep.blk_k = 0.0, 0
            energy += power * tab.chips * step_s
            rep.busy += step_s
            steps += 1
            rep.until = end
            push(end, r, rep.version)
            return
        if not n:
            rep.until = -1.0
            if rep.role != DECODE:
                idle_entry.add(r)
            return
        room = int((cfg.kv_tokens - rep.kv_used) // (n * tps))
        if room <= 0:
            return preempt_one(rep, r)
        k = max(int(min(rep.heap[0][0] - rep.D if rep.heap else 1, room, MAX_BLOCK_STEPS)), 1)
        step_s, power = table.lookup(n, ctx_mean(rep) + k / 2, 0)
        rep.blk_t0, rep.blk_step, rep.blk_k, rep.blk_power = t, step_s, k, power
        rep.until = t + k * step_s
        push(rep.until, r, rep.version)

    def end_block(r, t):
        """A decode block of replica r ends at t: apply its steps, then decide again."""
        nonlocal energy, steps
        rep = reps[r]
        if rep.blk_step:
            k, n = rep.blk_k, len(rep.decoding)
            n_b = rep.n_batch_dec
            itl_step.append(rep.blk_step / tps), itl_i.append(k * (n - n_b) * tps), itl_b.append(k * n_b * tps)
            rep.D += k
            rep.kv_used += k * n * tps
            tokens[r] -= k * n * tps
            energy += rep.blk_power * table.chips * k * rep.blk_step
            rep.busy += k * rep.blk_step
            steps += k
            rep.blk_step = 0.0
            finish_due(rep, t, r)
        decide(r, t)

    def wake(r, t):
        """New work for replica r at t: start it if idle, else cut its decode block short."""
        rep = reps[r]
        if rep.until < 0:
            idle_entry.discard(r)
            decide(r, t)
        elif rep.blk_step and rep.until > t:
            done = max(1, min(int(np.ceil((t - rep.blk_t0) / rep.blk_step - 1e-12)), rep.blk_k))
            if done < rep.blk_k:
                rep.blk_k = done
                rep.version += 1
                rep.until = rep.blk_t0 + done * rep.blk_step
                push(rep.until, r, rep.version)

    def route(pool: slice) -> int:
        nonlocal rr
        if cfg.router == "round_robin" and pool is entry:
            rr = (rr + 1) % n_entry
            return rr
        if cfg.router == "shortest_queue":
            return pool.start + int(np.argmin(load[pool]))
        return pool.start + int(np.argmin(tokens[pool]))

    def sample(t):
        series["t"].append(t)
        series["queued"].append(queued)
        series["batch_queued"].append(len(batch_queue))
        series["running"].append(sum(len(x.decoding) + len(x.prefilling) for x in reps))
        series["kv_frac"].append(sum(x.kv_used for x in reps) / (cfg.kv_tokens * len(reps)))

    def arrive(i, now) -> bool:
        """Request i arrives at now: to the batch queue, or routed to a replica. False: overloaded."""
        nonlocal queued
        if klass[i] == BATCH:
            heapq.heappush(batch_queue, (deadline[i], i))
            if idle_entry:
                wake(min(idle_entry), now)
            return True
        r = route(entry)
        where[i] = r
        enqueue(reps[r], i)
        queued += 1
        load[r] += 1
        tokens[r] += prompt[i] + (0 if disagg else out_left[i])
        wake(r, now)
        return queued <= overload_at

    i = 0
    while i < n_static or heap:
        events += 1
        if guard is not None and not events % CHECK_EVERY:
            guard(events)
        if i < n_static and (not heap or arrival[i] <= heap[0][0]):
            now = arrival[i]
            if not arrive(i, now):
                overloaded = True
                break
            i += 1
            if progress and not i & 0xFFFF:
                progress(i)
        else:
            t, _, who, version = heapq.heappop(heap)
            now = t
            if who < -n_req:                             # closed loop: a client's next request
                arrive(-1 - n_req - who, now)
            elif who < 0:                                # KV hand-off reaches the decode pool
                rid = -1 - who
                r = route(decode_pool)
                where[rid] = r
                enqueue(reps[r], rid)
                queued += klass[rid] == INTERACTIVE
                load[r] += 1
                tokens[r] += out_left[rid]
                wake(r, now)
            elif version == reps[who].version:
                end_block(who, t)
        if now >= next_sample:
            sample(now)
            next_sample = now + sample_every
    sample(now)
    if progress:
        progress(i)
    if cfg.closed_loop_clients:
        req_arrival = np.array(arrival)
    else:
        req_arrival = req.arrival_s
    return Trace(np.array(first), np.array(finish), np.array(where, dtype=np.int32),
                 np.array(preempt, dtype=np.int32), np.array([x.busy for x in reps]),
                 energy, steps, events, now, overloaded,
                 {"step_s": np.asarray(itl_step), "interactive_tokens": np.asarray(itl_i, dtype=float),
                  "batch_tokens": np.asarray(itl_b, dtype=float)},
                 {k: np.asarray(v, dtype=float) for k, v in series.items()}, req_arrival)
