"""The event loop: arrivals are routed to replicas; each replica runs continuous batching.

One heap of (time_s, seq, replica, version) holds each replica's next step boundary. A replica
that only decodes advances many steps in one event (a block) until a sequence finishes, its KV
cache fills, or an arrival routed to it cuts the block at the next step boundary. A step with
prefill work (chunked, within the token budget) is a block of one step. Deterministic: ties are
broken by a counter, randomness lives in the workload.
"""

import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .steptime import StepTable
from .workload import INTERACTIVE, Requests

MAX_BLOCK_STEPS = 64        # re-read the step time as contexts grow


@dataclass
class Config:
    replicas: int = 1
    max_seqs: int = 256                  # running sequences per replica (vLLM max_num_seqs)
    token_budget: int = 8192             # tokens per step (vLLM max_num_batched_tokens)
    kv_tokens: int = 1_000_000           # KV cache capacity per replica, tokens
    router: str = "least_tokens"         # round_robin | least_tokens | shortest_queue
    overload_queue_factor: float = 50.0  # stop when the fleet queue exceeds this x replicas x max_seqs
    samples: int = 400                   # time-series points


@dataclass
class Trace:
    """What the simulation recorded, per request and over time."""
    first_token_s: np.ndarray
    finish_s: np.ndarray
    replica: np.ndarray
    preemptions: np.ndarray
    busy_s: np.ndarray                    # per replica
    energy_j: float
    steps: int
    events: int
    end_s: float
    overloaded: bool
    series: dict = field(default_factory=dict)


class Replica:
    __slots__ = ("waiting", "prefilling", "prefill_done", "heap", "decoding", "D", "sum_prompt", "sum_start",
                 "kv_used", "version", "blk_t0", "blk_step", "blk_k", "blk_power", "busy", "until")

    def __init__(self):
        self.waiting: deque = deque()      # request ids (interactive ahead of batch)
        self.prefilling: list = []         # request ids being prefilled, FIFO
        self.prefill_done: dict = {}       # rid -> prompt tokens already prefilled
        self.heap: list = []               # (finish step D, rid) of decoding sequences
        self.decoding: set = set()
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


def simulate(req: Requests, table: StepTable, cfg: Config) -> Trace:
    n_req = len(req)
    prompt = req.input_tokens.astype(np.int64).copy()      # grows on preemption (recompute)
    out_left = req.output_tokens.astype(np.int64).copy()
    first = np.full(n_req, np.nan)
    finish = np.full(n_req, np.nan)
    start_d = np.zeros(n_req, dtype=np.int64)
    where = np.full(n_req, -1, dtype=np.int32)
    preempt = np.zeros(n_req, dtype=np.int32)
    reps = [Replica() for _ in range(cfg.replicas)]
    # per-replica routing state, vectorised: tokens still to process and requests held
    tokens = np.zeros(cfg.replicas)
    held = np.zeros(cfg.replicas)
    heap: list = []
    seq = 0
    energy = 0.0
    steps = 0
    events = 0
    rr = 0
    overload_at = cfg.overload_queue_factor * cfg.replicas * cfg.max_seqs
    queued = 0
    sample_every = (req.arrival_s[-1] if n_req else 1.0) / cfg.samples
    next_sample = 0.0
    series = {"t": [], "queued": [], "running": [], "kv_frac": []}
    now = 0.0
    overloaded = False

    def push(t, r, rep):
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, r, rep.version))

    def ctx_mean(rep):
        n = len(rep.decoding)
        return (rep.sum_prompt + n * (rep.D + 1) - rep.sum_start) / n if n else 0.0

    def start_decoding(rep, rid, t):
        first[rid] = t if np.isnan(first[rid]) else first[rid]
        out_left[rid] -= 1                       # the prefill step emits the first token
        if out_left[rid] <= 0:
            finish[rid] = t
            rep.kv_used -= prompt[rid]
            return
        start_d[rid] = rep.D
        rep.decoding.add(rid)
        rep.sum_prompt += prompt[rid]
        rep.sum_start += rep.D
        heapq.heappush(rep.heap, (rep.D + out_left[rid], rid))

    def finish_due(rep, t, r):
        while rep.heap and rep.heap[0][0] <= rep.D:
            _, rid = heapq.heappop(rep.heap)
            if rid not in rep.decoding:
                continue
            rep.decoding.discard(rid)
            finish[rid] = t
            rep.sum_prompt -= prompt[rid]
            rep.sum_start -= start_d[rid]
            rep.kv_used -= prompt[rid] + (rep.D - start_d[rid])
            held[r] -= 1

    def preempt_newest(rep, r):
        nonlocal queued
        rid = max(rep.decoding, key=lambda x: start_d[x])
        rep.decoding.discard(rid)
        generated = rep.D - start_d[rid]
        rep.sum_prompt -= prompt[rid]
        rep.sum_start -= start_d[rid]
        rep.kv_used -= prompt[rid] + generated
        out_left[rid] -= generated
        prompt[rid] += generated                 # recompute: the tokens so far are prefilled again
        preempt[rid] += 1
        rep.waiting.appendleft(rid)
        held[r] -= 1
        queued += 1
        tokens[r] += prompt[rid]

    def admit(rep, r):
        nonlocal queued
        while rep.waiting and len(rep.decoding) + len(rep.prefilling) < cfg.max_seqs:
            rid = rep.waiting[0]
            if rep.kv_used + prompt[rid] + 1 > cfg.kv_tokens and (rep.decoding or rep.prefilling):
                break
            rep.waiting.popleft()
            queued -= 1
            rep.kv_used += prompt[rid]
            rep.prefilling.append(rid)
            rep.prefill_done[rid] = 0
            held[r] += 1

    def decide(r, t):
        """At a step boundary of replica r: admit, then run one mixed step or a decode block."""
        nonlocal energy, steps
        rep = reps[r]
        admit(rep, r)
        n = len(rep.decoding)
        if rep.prefilling:
            budget = max(cfg.token_budget - n, 1)
            chunk, plan = 0, []
            for rid in rep.prefilling:
                take = min(prompt[rid] - rep.prefill_done[rid], budget - chunk)
                if take <= 0:
                    break
                plan.append((rid, take))
                chunk += take
            step_s, power = table.lookup(n, ctx_mean(rep), chunk)
            if n and rep.kv_used + n > cfg.kv_tokens:
                preempt_newest(rep, r)
                n = len(rep.decoding)
            end = t + step_s
            rep.D += 1 if n else 0
            rep.kv_used += n
            for rid, take in plan:
                rep.prefill_done[rid] += take
            tokens[r] -= chunk + n
            done = [rid for rid, _ in plan if rep.prefill_done[rid] >= prompt[rid]]
            for rid in done:
                rep.prefilling.remove(rid)
                del rep.prefill_done[rid]
                start_decoding(rep, rid, end)
                if not np.isnan(finish[rid]):
                    held[r] -= 1
            finish_due(rep, end, r)
            rep.blk_step, rep.blk_k = 0.0, 0
            energy += power * table.chips * step_s
            rep.busy += step_s
            steps += 1
            rep.until = end
            push(end, r, rep)
            return
        if not n:
            rep.until = -1.0
            return
        room = (cfg.kv_tokens - rep.kv_used) // n
        if room <= 0:
            preempt_newest(rep, r)
            return decide(r, t)
        k = int(min(rep.heap[0][0] - rep.D if rep.heap else 1, room, MAX_BLOCK_STEPS))
        k = max(k, 1)
        step_s, power = table.lookup(n, ctx_mean(rep) + k / 2, 0)
        rep.blk_t0, rep.blk_step, rep.blk_k, rep.blk_power = t, step_s, k, power
        rep.until = t + k * step_s
        push(rep.until, r, rep)

    def end_block(r, t):
        """A decode block of replica r ends at t: apply its steps, then decide again."""
        nonlocal energy, steps
        rep = reps[r]
        if rep.blk_step:
            k, n = rep.blk_k, len(rep.decoding)
            rep.D += k
            rep.kv_used += k * n
            tokens[r] -= k * n
            energy += rep.blk_power * table.chips * k * rep.blk_step
            rep.busy += k * rep.blk_step
            steps += k
            rep.blk_step = 0.0
            finish_due(rep, t, r)
        decide(r, t)

    def cut_block(r, t):
        """An arrival at t joins replica r mid-block: end the block at the next step boundary."""
        rep = reps[r]
        if rep.blk_step and rep.until > t:
            done = int(np.ceil((t - rep.blk_t0) / rep.blk_step - 1e-12))
            done = max(1, min(done, rep.blk_k))
            if done < rep.blk_k:
                rep.blk_k = done
                rep.version += 1
                rep.until = rep.blk_t0 + done * rep.blk_step
                push(rep.until, r, rep)

    def route(t) -> int:
        nonlocal rr
        if cfg.router == "round_robin":
            rr = (rr + 1) % cfg.replicas
            return rr
        if cfg.router == "shortest_queue":
            return int(np.argmin(held + np.array([len(x.waiting) for x in reps])))
        return int(np.argmin(tokens))

    i = 0
    while i < n_req or heap:
        events += 1
        if i < n_req and (not heap or req.arrival_s[i] <= heap[0][0]):
            now = float(req.arrival_s[i])
            r = route(now)
            rep = reps[r]
            where[i] = r
            (rep.waiting.append if req.klass[i] != INTERACTIVE or not rep.waiting else _insert_interactive(rep, req))(i)
            queued += 1
            tokens[r] += prompt[i] + out_left[i]
            i += 1
            if rep.until < 0:
                decide(r, now)
            else:
                cut_block(r, now)
            if queued > overload_at:
                overloaded = True
                break
        else:
            t, _, r, version = heapq.heappop(heap)
            now = t
            if version != reps[r].version:
                continue
            end_block(r, t)
        if now >= next_sample:
            series["t"].append(now)
            series["queued"].append(queued)
            series["running"].append(float(held.sum()))
            series["kv_frac"].append(sum(x.kv_used for x in reps) / (cfg.kv_tokens * cfg.replicas))
            next_sample = now + sample_every
    return Trace(first, finish, where, preempt, np.array([x.busy for x in reps]), energy, steps, events, now,
                 overloaded, {k: np.asarray(v) for k, v in series.items()})


def _insert_interactive(rep, req):
    """Interactive requests queue ahead of batch ones (FIFO within a class)."""
    def insert(rid):
        for pos, other in enumerate(rep.waiting):
            if req.klass[other] != INTERACTIVE:
                rep.waiting.insert(pos, rid)
                return
        rep.waiting.append(rid)
    return insert
