"""The event loop: named kinds, (t_s, seq) order with the simulator's own counter as tie-break,
handlers that return events, a cut decode block's stale event skipped, fixed-seed determinism."""

import heapq

import numpy as np
import pytest

from servecost.sim import engine, scenario
from servecost.sim.engine import Config, Kind, Simulator, simulate
from servecost.sim.run import run
from servecost.sim.workload import BATCH, INTERACTIVE, Requests


class Table:
    """A step table stand-in: 10 ms + 1 ms per running sequence + 10 us per prefilled token."""
    chips = 1

    def lookup(self, n, ctx, chunk):
        return 0.01 + 0.001 * n + 1e-5 * chunk, 100.0


def requests(arrival_s, prompt=100, output=10, klass=INTERACTIVE):
    n = len(arrival_s)
    return Requests(np.asarray(arrival_s, dtype=float), np.full(n, prompt), np.full(n, output),
                    np.full(n, klass), np.full(n, np.inf if klass == INTERACTIVE else 100.0), np.zeros(n, dtype=int))


def test_kinds_are_named_and_routers_listed():
    """Event kinds are an IntEnum; engine.ROUTERS lists the router module's names for the scenario schema."""
    assert [k.name for k in Kind] == ["ARRIVAL", "CLIENT", "HANDOFF", "STEP"]
    assert engine.ROUTERS == ("least_tokens", "round_robin", "shortest_queue")


def test_heap_orders_by_time_then_push_order():
    """Events at the same time pop in the order they were pushed (the per-simulator counter)."""
    sim = Simulator(requests([0.0]), Table(), Config())
    sim.push([(2.0, Kind.STEP, 0), (1.0, Kind.HANDOFF, 5), (1.0, Kind.CLIENT, 7), (1.0, Kind.HANDOFF, 3)])
    popped = [heapq.heappop(sim.heap) for _ in range(4)]
    assert [(t, kind, who) for t, _, kind, who in popped] == \
        [(1.0, Kind.HANDOFF, 5), (1.0, Kind.CLIENT, 7), (1.0, Kind.HANDOFF, 3), (2.0, Kind.STEP, 0)]
    assert [seq for _, seq, _, _ in popped] == [2, 3, 4, 1]
    assert sim.reps[0].pending == 1          # the replica's current step event


def test_counters_are_per_simulator():
    """Two simulators number their events from 1 each (no class-level counter)."""
    a, b = Simulator(requests([0.0]), Table(), Config()), Simulator(requests([0.0]), Table(), Config())
    a.push([(1.0, Kind.CLIENT, 0)] * 3)
    b.push([(1.0, Kind.CLIENT, 0)])
    assert (a.seq, b.seq) == (3, 1)


def test_handler_returns_the_step_it_causes():
    """An arrival at an idle replica starts a prefill step: the handler returns its STEP event."""
    sim = Simulator(requests([0.0]), Table(), Config())
    out = []
    assert sim.arrive(0, 0.0, out)
    assert out == [(0.01 + 1e-5 * 100, Kind.STEP, 0)]


def test_arrival_cuts_a_decode_block_and_the_stale_event_is_skipped():
    """A second request arriving mid-block cuts the block at its next step boundary; the first block
    event is then stale and causes nothing (the trace is that of two sequences sharing steps)."""
    tr = simulate(requests([0.0, 0.05], output=50), Table(), Config())
    assert tr.steps > 0 and np.isfinite(tr.finish_s).all()
    assert tr.first_token_s[1] > 0.05
    lone = simulate(requests([0.0], output=50), Table(), Config())
    assert tr.finish_s[0] > lone.finish_s[0]      # it shared its steps after the cut


def test_arrival_first_on_a_tie_with_a_step():
    """A request arriving exactly when a step ends is admitted at that boundary, before the step's own
    event runs (arrivals with given times go first on a tie)."""
    first_step_s = 0.01 + 1e-5 * 100
    tr = simulate(requests([0.0, first_step_s]), Table(), Config())
    assert tr.first_token_s[0] == first_step_s
    assert tr.replica.tolist() == [0, 0]


def test_same_seed_same_summary_as_before_the_split():
    """A small two-replica scenario with batch work and preemptions gives the summary recorded from the
    single-closure simulator this one replaced (same seed, same numbers; re-recorded when the shipped
    profile moves the step times)."""
    spec = scenario.parse({
        "model": "llama-3.1-8b", "hardware": "h100-sxm", "engine": "vllm", "deployment": {"tp": 1},
        "slo": {"ttft_s": 1.0, "tpot_s": 0.05}, "duration_s": 120, "seed": 7,
        "fleet": {"replicas": 2, "router": "round_robin", "kv_tokens": 12000},
        "workload": {"streams": [
            {"class": "interactive", "rate_per_s": 10, "input_tokens": 1000, "output_tokens": 200,
             "input_spread": 0.6, "output_spread": 0.6},
            {"class": "batch", "rate_per_s": 4, "input_tokens": 800, "output_tokens": 300, "deadline_s": 600}]}})
    a, b = run(spec), run(spec)
    s = a.summary
    assert (s.requests, s.events, s.steps) == (1699, 7476, 36277)
    assert s.simulated_s == 179.8219911469279
    assert s.classes["interactive"].ttft_s.p99 == 6.791885261107626
    assert s.classes["interactive"].tpot_s.p50 == 0.00993678198387994
    assert int(a.trace.preemptions.sum()) == 875
    assert a.trace.energy_busy_j == 372550.71461331885
    assert np.array_equal(a.trace.finish_s, b.trace.finish_s)


def test_batch_arrival_wakes_the_lowest_idle_replica():
    """A batch request goes to the fleet queue and the idle entry replica with the lowest index takes it."""
    req = requests([0.0], klass=BATCH)
    tr = simulate(req, Table(), Config(replicas=3))
    assert tr.replica.tolist() == [0]


def test_a_request_at_a_busy_replica_waits_its_admission_steps():
    """With an admission wait of k = 3 steps, a request arriving mid-block is admitted three step
    boundaries after the step in progress ends, so its first token comes three decode steps
    (11 ms each, one sequence running) later than with k = 0; at an idle replica nothing is waited."""
    arrivals = requests([0.0, 0.05], output=50)
    now, later = simulate(arrivals, Table(), Config()), simulate(arrivals, Table(), Config(admission_steps=3))
    assert later.first_token_s[1] - now.first_token_s[1] == pytest.approx(3 * 0.011, abs=1e-9)
    assert later.first_token_s[0] == now.first_token_s[0]          # it found the replica idle
    assert np.isfinite(later.finish_s).all()


def test_fractional_admission_steps_average_to_k():
    """k = 1.5: the requests wait one or two extra steps in turn (a golden-ratio sequence): k on average."""
    from servecost.sim.replica import admission_extra_steps
    for k in (1.5, 6.46, 0.1):
        extra = [admission_extra_steps(rid, k) for rid in range(1000)]
        assert set(extra) <= {int(k), int(k) + 1} and np.mean(extra) == pytest.approx(k, abs=0.01)

