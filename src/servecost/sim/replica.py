"""A replica's scheduler (continuous batching, vLLM-style) over the fleet's per-request state.

At every step boundary a replica admits waiting requests (interactive first, FIFO) while it has
fewer than `max_seqs` running and KV room for the prompt, then runs one step that decodes every
running sequence and prefills prompt chunks up to `token_budget` tokens (chunked prefill). When the
paged KV cache cannot hold one more token per running sequence, the newest sequence is preempted and
recomputed later (its tokens so far become prompt). An interactive request that finds the replica
full preempts a running batch request. A replica that only decodes advances many steps in one event
(a block) until a sequence finishes, its KV fills, or new work cuts the block at the next step boundary.

Methods that cause events append `(t_s, kind, who)` to the list `out` they are given; the engine
pushes them on its heap in that order.
"""

import heapq
import math
from array import array
from collections import deque

import numpy as np

from .events import CLIENT, HANDOFF, STEP
from .workload import BATCH, INTERACTIVE

MAX_BLOCK_STEPS = 64        # re-read the step time as contexts grow
MIXED, PREFILL, DECODE = 0, 1, 2
GOLDEN = 0.6180339887498949  # (sqrt(5) - 1) / 2: the fractions i x GOLDEN mod 1 spread evenly over [0, 1)


def _typed(code: str, values: np.ndarray) -> array:
    """A numpy vector as a typed array (`code`: array module type, "d" float64 or "q" int64)."""
    out = array(code)
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64 if code == "d" else np.int64).tobytes())
    return out


class Fleet:
    """State the replicas share: per-request state indexed by request id, router state, the fleet-wide
    batch queue and counters.

    What the scheduler reads and writes at every step (class, prompt, output left, decode steps) is in
    Python lists (scalar access is several times faster than numpy's or array's); the lengths are live
    only while a request is in the fleet (`enter` to `retire`), so a list slot otherwise holds the shared
    int 0 (8 bytes, not a 28-byte int object). What is written once or read rarely (times, replica,
    preemptions, hand-off flag, prefix-cache hits) is in typed arrays, 1 to 8 bytes a request."""
    __slots__ = ("cfg", "klass", "deadline", "input_tokens", "output_tokens", "prompt", "cached", "out_left", "first",
                 "finish", "start_d", "finish_at", "where", "preempt", "prefilled", "arrival", "n_req", "next_closed",
                 "tokens", "load", "rr", "batch_queue", "idle_entry", "queued", "energy", "steps", "itl_step", "itl_i",
                 "itl_b", "admit_after")

    def __init__(self, req, cfg, n_replicas: int, n_entry: int):
        n = self.n_req = len(req)
        self.cfg = cfg
        self.klass = req.klass.tolist()                  # INTERACTIVE or BATCH: small ints, shared objects
        self.deadline = req.deadline_s                   # numpy, read (.item) when a batch request is queued
        self.input_tokens, self.output_tokens = req.input_tokens, req.output_tokens   # numpy, copied on `enter`
        self.prompt = [0] * n                            # grows on preemption (recompute)
        self.out_left = [0] * n
        self.start_d = [0] * n
        self.finish_at = [0] * n                         # the decode step at which the last token is out
        self.cached = _typed("q", req.cached_tokens)     # prefix-cache hits: held in KV, not prefilled
        self.first = array("d", [math.nan]) * n
        self.finish = array("d", [math.nan]) * n
        self.where = array("i", [-1]) * n
        self.preempt = array("i", [0]) * n
        self.prefilled = bytearray(n)                    # 1: KV handed over, ready to decode
        self.arrival = _typed("d", req.arrival_s)
        self.admit_after = array("q", [0]) * n           # the replica step boundary from which it may be admitted
        self.next_closed = n
        if cfg.closed_loop_clients:                      # benchmark clients: the first wave as given, then one per finish
            self.next_closed = min(cfg.closed_loop_clients, n)
            self.arrival[self.next_closed:] = array("d", [math.inf]) * (n - self.next_closed)
        self.tokens = np.zeros(n_replicas)               # tokens each replica still has to process (router state)
        self.load = np.zeros(n_replicas)                 # requests each replica holds or queues (router state)
        self.rr = -1
        self.batch_queue: list = []                      # (deadline_s, rid), fleet-wide
        self.idle_entry: set = set(range(n_entry))
        self.queued = 0                                  # interactive requests waiting
        self.energy = 0.0                                # J, all chips, while stepping
        self.steps = 0
        self.itl_step, self.itl_i, self.itl_b = array("d"), array("d"), array("d")

    def enter(self, rid: int) -> None:
        """Request rid reaches the fleet: its prompt and output lengths become live state."""
        self.prompt[rid] = self.input_tokens.item(rid)
        self.out_left[rid] = self.output_tokens.item(rid)

    def retire(self, rid: int) -> None:
        """Request rid is finished: drop its live state (the trace keeps its times, replica, preemptions)."""
        self.prompt[rid] = self.out_left[rid] = self.start_d[rid] = self.finish_at[rid] = 0

    def client_next(self, t: float, out: list) -> None:
        """Closed loop: the client whose request just ended sends the next one."""
        if self.cfg.closed_loop_clients and self.next_closed < self.n_req:
            self.arrival[self.next_closed] = t + self.cfg.closed_loop_delay_s
            out.append((t + self.cfg.closed_loop_delay_s, CLIENT, self.next_closed))
            self.next_closed += 1


def admission_extra_steps(rid: int, k: float) -> int:
    """Whole steps request `rid` waits for an admission wait of k steps: floor(k), plus one for a share
    frac(k) of the requests, taken in turn by a golden-ratio sequence (deterministic, mean k)."""
    return math.floor(k) + (((rid + 1) * GOLDEN) % 1.0 < k % 1.0)


class Replica:
    """One replica's queue, running sequences, KV use and the step or decode block in progress."""
    __slots__ = ("r", "role", "fleet", "table", "decode_table", "max_seqs", "kv_tokens", "token_budget", "batch_cap",
                 "tps", "klass", "prompt", "out_left", "start_d", "finish_at", "tokens", "load", "waiting", "prefilling",
                 "prefill_done", "heap", "decoding", "n_batch", "n_batch_dec", "D", "sum_prompt", "sum_start",
                 "kv_used", "pending", "blk_t0", "blk_step", "blk_k", "blk_power", "busy", "until", "n_steps",
                 "admission_steps")

    def __init__(self, r: int, role: int, fleet: Fleet, table, prefill_table=None):
        cfg = fleet.cfg
        self.r, self.role, self.fleet = r, role, fleet
        self.decode_table = table
        self.table = prefill_table if prefill_table is not None and role == PREFILL else table
        self.max_seqs, self.kv_tokens, self.token_budget = cfg.max_seqs, cfg.kv_tokens, cfg.token_budget
        self.batch_cap = cfg.batch_max_seqs or cfg.max_seqs
        self.tps = cfg.tokens_per_step
        self.klass, self.prompt, self.out_left = fleet.klass, fleet.prompt, fleet.out_left
        self.start_d, self.finish_at = fleet.start_d, fleet.finish_at
        self.tokens, self.load = fleet.tokens, fleet.load     # this fleet's router state (shared arrays)
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
        self.pending = -1                  # seq of the one STEP event of this replica that is still valid
        self.blk_t0 = 0.0
        self.blk_step = 0.0                # 0: not in a decode block
        self.blk_k = 0
        self.blk_power = 0.0
        self.busy = 0.0
        self.until = -1.0                  # end of the step or block in progress (-1: idle)
        self.n_steps = 0                   # steps started (a decode block's, as far as it runs)
        self.admission_steps = cfg.admission_steps

    def ctx_mean(self) -> float:
        """Mean context of the decoding sequences after the next step, tokens."""
        n = len(self.decoding)
        return (self.sum_prompt + self.tps * (n * (self.D + 1) - self.sum_start)) / n if n else 0.0

    def admission_boundary(self, rid: int, t: float) -> int:
        """The step boundary from which a request reaching this replica at t may be admitted: the end of
        the step in progress plus k more (serving.py's admission wait; k's fraction taken by every
        request in turn, a golden-ratio sequence, so that k steps is the mean); 0 when it is idle."""
        if self.until < 0:
            return 0
        current = self.n_steps
        if self.blk_step:                 # in a decode block: the step that ends next
            current += self._block_step_at(t) - self.blk_k
        return current + admission_extra_steps(rid, self.admission_steps)

    def _block_step_at(self, t: float) -> int:
        """Which step of the decode block in progress runs at t (1 .. blk_k): the boundary it ends at."""
        return max(1, min(math.ceil((t - self.blk_t0) / self.blk_step - 1e-12), self.blk_k))

    def enqueue(self, rid: int) -> None:
        """Interactive requests queue ahead of batch ones (FIFO within a class)."""
        klass, waiting = self.klass, self.waiting
        if klass[rid] == INTERACTIVE and waiting and klass[waiting[-1]] != INTERACTIVE:
            for pos, other in enumerate(waiting):
                if klass[other] != INTERACTIVE:
                    waiting.insert(pos, rid)
                    return
        waiting.append(rid)

    def add_decoding(self, rid: int) -> None:
        self.start_d[rid] = self.D
        self.decoding.add(rid)
        self.n_batch_dec += self.klass[rid]
        self.sum_prompt += self.prompt[rid]
        self.sum_start += self.D
        self.finish_at[rid] = self.D + math.ceil(self.out_left[rid] / self.tps - 1e-9)
        heapq.heappush(self.heap, (self.finish_at[rid], rid))

    def drop_decoding(self, rid: int) -> None:
        self.decoding.discard(rid)
        self.n_batch_dec -= self.klass[rid]
        self.sum_prompt -= self.prompt[rid]
        self.sum_start -= self.start_d[rid]
        self.kv_used -= self.prompt[rid] + (self.D - self.start_d[rid]) * self.tps

    def release(self, rid: int) -> None:
        self.n_batch -= self.klass[rid] == BATCH
        self.load[self.r] -= 1

    def prefill_complete(self, rid: int, t: float, out: list) -> None:
        """A prompt is prefilled at t: the step emits a token; decode here or hand the KV over."""
        fleet = self.fleet
        if math.isnan(fleet.first[rid]):
            fleet.first[rid] = t
        self.out_left[rid] -= 1
        if self.out_left[rid] <= 0:
            fleet.finish[rid] = t
            self.kv_used -= self.prompt[rid]
            self.release(rid)
            fleet.retire(rid)
            fleet.client_next(t, out)
        elif self.role == PREFILL:
            self.kv_used -= self.prompt[rid]
            self.release(rid)
            fleet.prefilled[rid] = True
            cfg = fleet.cfg
            out.append((t + cfg.kv_transfer_latency_s + cfg.kv_transfer_s_per_token * self.prompt[rid], HANDOFF, rid))
        else:
            self.add_decoding(rid)

    def finish_due(self, t: float, out: list) -> None:
        """Sequences whose last token is out by decode step D finish at t."""
        heap, finish_at = self.heap, self.finish_at
        while heap and heap[0][0] <= self.D:
            _, rid = heapq.heappop(heap)
            if rid not in self.decoding or finish_at[rid] > self.D:
                continue                  # preempted since (or re-admitted with a later finish)
            self.drop_decoding(rid)
            self.fleet.finish[rid] = t
            self.release(rid)
            self.fleet.retire(rid)
            self.fleet.client_next(t, out)

    def preempt(self, batch_only: bool = False) -> bool:
        """Preempt the newest running sequence (batch ones first); it will be recomputed. False: none."""
        fleet, klass, r = self.fleet, self.klass, self.r
        pool = [x for x in self.decoding if klass[x] == BATCH] if self.n_batch_dec else []
        pool = pool or ([] if batch_only else list(self.decoding))
        if not pool:
            return False
        start_d = self.start_d
        rid = max(pool, key=lambda x: start_d[x])
        generated = min(round((self.D - start_d[rid]) * self.tps), self.out_left[rid] - 1)
        self.drop_decoding(rid)
        self.release(rid)
        self.out_left[rid] -= generated
        self.prompt[rid] += generated                 # recompute: the tokens so far are prefilled again
        fleet.prefilled[rid] = False
        fleet.preempt[rid] += 1
        self.tokens[r] -= self.out_left[rid]
        if klass[rid] == BATCH and self.role != DECODE:
            heapq.heappush(fleet.batch_queue, (fleet.deadline.item(rid), rid))
            return True
        (self.waiting.appendleft if klass[rid] == INTERACTIVE else self.waiting.append)(rid)
        fleet.queued += klass[rid] == INTERACTIVE
        self.load[r] += 1
        self.tokens[r] += self.prompt[rid] + self.out_left[rid]
        return True

    def place(self, rid: int) -> None:
        """Start a request admitted here: decode it (its KV was handed over) or queue its prompt chunks."""
        self.kv_used += self.prompt[rid]
        self.n_batch += self.klass[rid] == BATCH
        if self.fleet.prefilled[rid]:
            self.add_decoding(rid)
        else:
            self.prefilling.append(rid)
            self.prefill_done[rid] = min(self.fleet.cached[rid], self.prompt[rid] - 1)

    def admit(self) -> float:
        """Admit waiting requests, then batch requests from the fleet's queue, while there is room. A
        request in its admission wait is not yet seen by the scheduler (unless nothing runs): it and the
        later arrivals behind it stay queued, and batch requests may take spare slots meanwhile.
        Returns the step boundary at which the first waiting request's wait ends (inf: none waits)."""
        fleet, klass, prompt, waiting = self.fleet, self.klass, self.prompt, self.waiting
        batch_queue = fleet.batch_queue
        while True:
            running = len(self.decoding) + len(self.prefilling)
            wait_ends = fleet.admit_after[waiting[0]] if waiting and running else 0
            if waiting and wait_ends <= self.n_steps:
                rid = waiting[0]
                if klass[rid] == BATCH and self.n_batch >= self.batch_cap:
                    return math.inf
                if running < self.max_seqs and (self.kv_used + prompt[rid] + 1 <= self.kv_tokens or not running):
                    waiting.popleft()
                    fleet.queued -= klass[rid] == INTERACTIVE
                    self.place(rid)
                    continue
                if klass[rid] == INTERACTIVE and self.preempt(batch_only=True):
                    continue
                return math.inf
            wait_ends = wait_ends if waiting else math.inf
            if not batch_queue or self.role == DECODE or running >= self.max_seqs or self.n_batch >= self.batch_cap:
                return wait_ends
            _, rid = batch_queue[0]
            if self.kv_used + prompt[rid] + 1 > self.kv_tokens and running:
                return wait_ends
            heapq.heappop(batch_queue)
            fleet.where[rid] = self.r
            self.load[self.r] += 1
            self.tokens[self.r] += prompt[rid] + self.out_left[rid]
            self.place(rid)

    def decide(self, t: float, out: list) -> None:
        """At a step boundary: admit, then run one mixed step or a decode block (preempting sequences,
        one at a time, until the KV cache has room for a step)."""
        while self.step_or_block(t, out):
            pass

    def step_or_block(self, t: float, out: list) -> bool:
        """Start the next step or block at t; True when it preempted a sequence instead (try again)."""
        admit_at = self.admit()
        n = len(self.decoding)
        if self.prefilling:
            if n and self.kv_used + n * self.tps > self.kv_tokens:
                self.preempt()
                n = len(self.decoding)
            self.mixed_step(t, n, out)
            return False
        if not n:
            self.until = -1.0
            if self.role != DECODE:
                self.fleet.idle_entry.add(self.r)
            return False
        room = int((self.kv_tokens - self.kv_used) // (n * self.tps))
        if room <= 0:
            return self.preempt()
        self.start_block(t, n, room, out, admit_at)
        return False

    def mixed_step(self, t: float, n: int, out: list) -> None:
        """One step at t: decode the n running sequences and prefill prompt chunks up to the token budget."""
        fleet, tps, prompt, done = self.fleet, self.tps, self.prompt, self.prefill_done
        budget = max(self.token_budget - n, 1)
        chunk, plan = 0, []
        for rid in self.prefilling:
            take = min(prompt[rid] - done[rid], budget - chunk)
            if take <= 0:
                break
            plan.append((rid, take))
            chunk += take
        step_s, power = self.table.lookup(n, self.ctx_mean(), chunk)
        self.n_steps += 1
        end = t + step_s
        if n:
            self.D += 1
            self.kv_used += n * tps
            n_b = self.n_batch_dec
            fleet.itl_step.append(step_s / tps), fleet.itl_i.append((n - n_b) * tps), fleet.itl_b.append(n_b * tps)
        for rid, take in plan:
            done[rid] += take
        self.tokens[self.r] -= chunk + n * tps
        for rid, _ in plan:
            if done[rid] >= prompt[rid]:
                self.prefilling.remove(rid)
                del done[rid]
                self.prefill_complete(rid, end, out)
        self.finish_due(end, out)
        self.blk_step, self.blk_k = 0.0, 0
        fleet.energy += power * self.table.chips * step_s
        self.busy += step_s
        fleet.steps += 1
        self.until = end
        out.append((end, STEP, self.r))

    def start_block(self, t: float, n: int, room: int, out: list, admit_at: float = math.inf) -> None:
        """Start a decode block at t: k steps of the n running sequences, up to the next finish, `room`
        steps of free KV, MAX_BLOCK_STEPS, or the step boundary at which a waiting request's admission
        wait ends (`admit_at`)."""
        k = max(int(min(self.heap[0][0] - self.D if self.heap else 1, room, MAX_BLOCK_STEPS,
                        admit_at - self.n_steps)), 1)
        step_s, power = self.decode_table.lookup(n, self.ctx_mean() + k / 2, 0)
        self.n_steps += k
        self.blk_t0, self.blk_step, self.blk_k, self.blk_power = t, step_s, k, power
        self.until = t + k * step_s
        out.append((self.until, STEP, self.r))

    def end_step(self, t: float) -> list:
        """The step or decode block in progress ends at t: apply a block's steps, then decide again.
        Returns the events this causes."""
        out: list = []
        if self.blk_step:
            fleet, tps = self.fleet, self.tps
            k, n = self.blk_k, len(self.decoding)
            n_b = self.n_batch_dec
            fleet.itl_step.append(self.blk_step / tps), fleet.itl_i.append(k * (n - n_b) * tps), \
                fleet.itl_b.append(k * n_b * tps)
            self.D += k
            self.kv_used += k * n * tps
            self.tokens[self.r] -= k * n * tps
            fleet.energy += self.blk_power * self.decode_table.chips * k * self.blk_step
            self.busy += k * self.blk_step
            fleet.steps += k
            self.blk_step = 0.0
            self.finish_due(t, out)
        self.decide(t, out)
        return out

    def wake(self, t: float, out: list, boundary: int = 0) -> None:
        """New work at t: start it if idle, else cut a decode block short at its next step boundary, or at
        `boundary` (a replica step count: where an admission wait ends) if that is later."""
        if self.until < 0:
            self.fleet.idle_entry.discard(self.r)
            self.decide(t, out)
        elif self.blk_step and self.until > t:
            done = max(self._block_step_at(t), min(boundary - (self.n_steps - self.blk_k), self.blk_k))
            if done < self.blk_k:
                self.n_steps -= self.blk_k - done
                self.blk_k = done
                self.until = self.blk_t0 + done * self.blk_step
                out.append((self.until, STEP, self.r))
