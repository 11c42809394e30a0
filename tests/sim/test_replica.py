"""A replica's scheduler: admission (max_seqs, KV room, interactive ahead of batch), chunked prefill,
decode blocks, preemption (newest first, batch first, recompute) and finishing."""

import math

import numpy as np

from servecost.sim.engine import Config, Kind
from servecost.sim.replica import DECODE, MIXED, Fleet, Replica
from servecost.sim.workload import BATCH, INTERACTIVE, Requests


class Table:
    """A step table stand-in: 10 ms + 1 ms per running sequence + 10 us per prefilled token."""
    chips = 1

    def lookup(self, n, ctx, chunk):
        return 0.01 + 0.001 * n + 1e-5 * chunk, 100.0


def replica(prompt, output, klass=None, role=MIXED, **cfg):
    n = len(prompt)
    klass = np.zeros(n, dtype=int) if klass is None else np.asarray(klass)
    req = Requests(np.zeros(n), np.asarray(prompt), np.asarray(output), klass,
                   np.where(klass == BATCH, 100.0, np.inf), np.zeros(n, dtype=int))
    fleet = Fleet(req, Config(**cfg), 1, 1)
    for rid in range(n):
        fleet.enter(rid)                      # as the engine does when each request arrives
    return Replica(0, role, fleet, Table()), fleet


def test_admit_stops_at_max_seqs():
    """Only max_seqs requests run; the rest wait in FIFO order."""
    rep, fleet = replica([100] * 5, [10] * 5, max_seqs=3)
    for rid in range(5):
        rep.enqueue(rid)
    rep.admit()
    assert rep.prefilling == [0, 1, 2] and list(rep.waiting) == [3, 4]
    assert rep.kv_used == 300


def test_admit_needs_kv_room_for_the_prompt():
    """A prompt that does not fit next to the running ones waits; alone it is always admitted."""
    rep, _ = replica([600, 600], [10, 10], kv_tokens=1000)
    rep.enqueue(0), rep.enqueue(1)
    rep.admit()
    assert rep.prefilling == [0] and list(rep.waiting) == [1]


def test_interactive_queue_ahead_of_batch():
    """An interactive request is queued before waiting batch requests, FIFO within each class."""
    rep, _ = replica([10] * 4, [5] * 4, klass=[BATCH, BATCH, INTERACTIVE, INTERACTIVE])
    for rid in range(4):
        rep.enqueue(rid)
    assert list(rep.waiting) == [2, 3, 0, 1]


def test_chunked_prefill_then_decode_block():
    """A 250-token prompt with a 100-token budget takes three steps; the third emits the first token and
    the sequence then decodes in one block up to its finish."""
    rep, fleet = replica([250], [20], token_budget=100)
    rep.enqueue(0)
    out = []
    t = 0.0
    for _ in range(3):
        rep.decide(t, out)
        t = out[-1][0]
        assert out[-1][1] is Kind.STEP
    assert fleet.first[0] == t and rep.decoding == {0}
    events = rep.end_step(t)
    (end, kind, who), = events
    assert kind is Kind.STEP and rep.blk_k == 19       # 19 more tokens in one block
    rep.end_step(end)
    assert fleet.finish[0] == end and not rep.decoding and rep.kv_used == 0
    assert rep.until == -1.0


def test_full_kv_preempts_the_newest_sequence():
    """When the KV cache cannot hold one more token per sequence, the newest one is preempted: its
    generated tokens become prompt (recompute) and it waits at the head of the queue."""
    rep, fleet = replica([100, 100], [50, 50], kv_tokens=1000)
    rep.D = 0
    rep.place(0), rep.prefilling.clear(), rep.prefill_done.clear()
    rep.add_decoding(0)
    rep.D = 5
    rep.place(1), rep.prefilling.clear(), rep.prefill_done.clear()
    rep.add_decoding(1)
    rep.D = 8                               # sequence 1 has generated 3 tokens
    rep.kv_used = 100 + 8 + 100 + 3
    assert rep.preempt()
    assert rep.decoding == {0} and list(rep.waiting) == [1]
    assert fleet.prompt[1] == 103 and fleet.out_left[1] == 47 and fleet.preempt[1] == 1
    assert rep.kv_used == 108


def test_interactive_preempts_batch_only():
    """An interactive request finding the replica full preempts a running batch sequence; with only
    interactive ones running it waits."""
    rep, fleet = replica([100, 100], [50, 50], klass=[BATCH, INTERACTIVE], max_seqs=1)
    rep.place(0), rep.prefilling.clear(), rep.prefill_done.clear()
    rep.add_decoding(0)
    rep.enqueue(1)
    rep.admit()
    assert fleet.preempt[0] == 1 and fleet.batch_queue == [(100.0, 0)]
    assert rep.prefilling == [1]
    assert not rep.preempt(batch_only=True)      # only the interactive one runs now


def test_decode_replica_takes_no_batch_from_the_fleet_queue():
    """A decode-pool replica (disaggregated) admits only hand-offs, never the fleet's batch queue."""
    rep, fleet = replica([100], [10], klass=[BATCH], role=DECODE)
    fleet.batch_queue.append((100.0, 0))
    rep.admit()
    assert not rep.prefilling and fleet.batch_queue


def test_speculative_decoding_needs_fewer_steps():
    """With 2 tokens per step a sequence needs ceil(remaining / 2) decode steps."""
    rep, fleet = replica([100], [21], tokens_per_step=2.0)
    rep.place(0), rep.prefilling.clear(), rep.prefill_done.clear()
    rep.add_decoding(0)
    assert fleet.finish_at[0] == math.ceil(21 / 2)


def test_a_finished_request_drops_its_live_state():
    """Prompt, output left and decode steps are live from arrival to finish only (memory per request);
    the times stay."""
    rep, fleet = replica([250], [20], token_budget=100)
    rep.enqueue(0)
    out, t = [], 0.0
    for _ in range(3):
        rep.decide(t, out)
        t = out[-1][0]
    assert fleet.prompt[0] == 250 and fleet.out_left[0] == 19
    (end, _, _), = rep.end_step(t)
    rep.end_step(end)
    assert fleet.finish[0] == end and fleet.first[0] == t
    assert (fleet.prompt[0], fleet.out_left[0], fleet.start_d[0], fleet.finish_at[0]) == (0, 0, 0, 0)


def test_batch_takes_a_spare_slot_while_the_queue_head_waits_its_admission():
    """A request still in its admission wait is not seen by the scheduler: it stays queued, a batch
    request from the fleet's queue takes a spare slot meanwhile, and admit returns the step boundary
    at which the wait ends."""
    rep, fleet = replica([100, 100, 100], [10, 10, 10], klass=[INTERACTIVE, INTERACTIVE, BATCH])
    rep.enqueue(0)
    rep.admit()                                # request 0 runs
    fleet.admit_after[1] = rep.n_steps + 3     # request 1 arrived behind a busy step: three more boundaries
    rep.enqueue(1)
    fleet.batch_queue.append((100.0, 2))
    assert rep.admit() == rep.n_steps + 3
    assert rep.prefilling == [0, 2] and list(rep.waiting) == [1]
