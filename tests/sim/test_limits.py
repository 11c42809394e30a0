"""A simulation's work is bounded before it starts and stopped while it runs."""

import asyncio
import threading
import time

import pytest

from servecost.errors import InputError
from servecost.sim import engine, limits, scenario
from servecost.sim.run import run

BASE = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "deployment": {"tp": 1}, "duration_s": 60,
        "workload": {"streams": [{"rate_per_s": 2, "input_tokens": 1000, "output_tokens": 100}]}}


def _with_stream(**kw) -> dict:
    return BASE | {"workload": {"streams": [BASE["workload"]["streams"][0] | kw]}}


def test_prompt_over_the_kv_cache_names_the_stream():
    spec = scenario.parse(_with_stream(input_tokens=1e9))
    with pytest.raises(InputError, match=r"workload\.streams\.0: .* does not fit a replica's KV cache"):
        run(spec)


def test_trace_row_over_the_kv_cache_names_the_row(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("arrival_s,input_tokens,output_tokens\n0,100,10\n1,100,900000000\n")
    spec = scenario.parse(BASE | {"workload": {"trace": str(trace)}})
    with pytest.raises(InputError, match=r"trace t\.csv row 3: .* does not fit"):
        run(spec)


def test_huge_trace_value_is_refused_at_read(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("arrival_s,input_tokens,output_tokens\n0,1e15,10\n")
    with pytest.raises(InputError, match="row 2, column input_tokens"):
        run(scenario.parse(BASE | {"workload": {"trace": str(trace)}}))


def test_memory_estimate_refuses_a_huge_step_table():
    spec = scenario.parse(BASE | {"fleet": {"max_seqs": 65536, "token_budget": 1000000}})
    with pytest.raises(InputError, match="GB; the limit is"):
        scenario.build(spec, limits=limits.API)


def test_events_estimate_refuses_a_huge_output():
    spec = scenario.parse(_with_stream(output_tokens=1e9) | {"fleet": {"kv_tokens": 10**15}})
    with pytest.raises(InputError, match="events to simulate"):
        scenario.build(spec, limits=limits.API)


def test_request_count_refused_before_drawing():
    """1e7 requests/s over 30 days is refused before any array is allocated."""
    spec = scenario.parse(_with_stream(rate_per_s=1e7) | {"duration_s": 30 * 86400})
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="events to simulate"):
        scenario.build(spec)
    assert time.perf_counter() - t0 < 1


def test_estimate_is_an_upper_estimate_of_events():
    """On a small open-loop scenario the estimate is above the events the engine counts."""
    spec = scenario.parse(_with_stream(rate_per_s=20, output_spread=1.0))
    b = scenario.build(spec)
    est = limits.estimate(b.requests.input_tokens, b.requests.output_tokens, b.config.token_budget,
                          b.config.tokens_per_step, b.table.step_s.size)
    assert est.events >= run(spec, built=b).trace.events


def test_table_entries_match_the_step_table():
    b = scenario.build(scenario.parse(BASE))
    max_ctx = float((b.requests.input_tokens + b.requests.output_tokens).max())
    assert limits.table_entries(b.config.max_seqs, max_ctx, b.config.token_budget) == b.table.step_s.size


def test_cancel_stops_a_running_simulation():
    cancel = threading.Event()
    spec = scenario.parse(_with_stream(rate_per_s=500, output_tokens=1000, output_spread=1.0)
                          | {"fleet": {"replicas": 16}, "duration_s": 600})
    threading.Timer(0.3, cancel.set).start()
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="cancelled"):
        run(spec, cancel=cancel)
    assert time.perf_counter() - t0 < 5


def test_deadline_stops_a_running_simulation():
    spec = scenario.parse(_with_stream(rate_per_s=500, output_tokens=1000, output_spread=1.0)
                          | {"fleet": {"replicas": 16}, "duration_s": 600})
    with pytest.raises(InputError, match="stopped after 0.2 s"):
        run(spec, limits=limits.Limits(max_events=1e12, max_memory_bytes=1e12, deadline_s=0.2))


def test_events_limit_is_enforced_while_running():
    spec = scenario.parse(_with_stream(rate_per_s=200) | {"fleet": {"replicas": 8}})
    with pytest.raises(InputError, match="events, the limit"):
        engine_limit = limits.Limits(max_events=5000, max_memory_bytes=1e12)
        b = scenario.build(spec, limits=limits.CLI)
        run(spec, built=b, limits=engine_limit)


def test_alias_bomb_is_one_short_line(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb + "model: *i\n")
    with pytest.raises(InputError) as e:
        scenario.load(path)
    assert len(str(e.value)) < 300


def test_cpu_slots_cancel_when_the_client_leaves():
    """A call whose client disconnects sees its cancel event set."""
    pytest.importorskip("fastapi")
    from servecost.web.limits import CpuSlots, cancel_event

    class Gone:
        async def is_disconnected(self):
            return True

    def work():
        event = cancel_event()
        return "cancelled" if event.wait(5) else "ran out"

    assert asyncio.run(CpuSlots().run(work, request=Gone())) == "cancelled"


def test_cpu_slots_deadline_sets_cancel():
    pytest.importorskip("fastapi")
    from servecost.web.limits import CpuSlots, cancel_event

    def work():
        return "cancelled" if cancel_event().wait(5) else "ran out"

    assert asyncio.run(CpuSlots().run(work, deadline_s=0.3)) == "cancelled"


def test_engine_checks_the_guard():
    assert engine.CHECK_EVERY <= 10_000


def test_many_preemptions_in_a_row_do_not_recurse():
    """A full KV cache of thousands of tiny sequences preempts many in a row: a loop, not recursion
    (with Python's default limit of 1000 a 16,384-sequence replica raised RecursionError)."""
    import sys
    spec = scenario.parse(BASE | {"duration_s": 2, "fleet": {"replicas": 1, "max_seqs": 2048, "kv_tokens": 3000},
                                  "workload": {"streams": [{"rate_per_s": 1000, "input_tokens": 1,
                                                            "output_tokens": 200}]}})
    b = scenario.build(spec)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(150)
    try:
        tr = run(spec, built=b).trace
    finally:
        sys.setrecursionlimit(limit)
    assert tr.preemptions.sum() > 100


def test_a_run_far_over_its_estimate_is_stopped(monkeypatch):
    """The guard stops a run at OVERRUN x its estimated events (a thrashing or looping fleet)."""
    monkeypatch.setattr(limits, "OVERRUN_FLOOR", 0)
    spec = scenario.parse(_with_stream(rate_per_s=200) | {"fleet": {"replicas": 8}})
    b = scenario.build(spec)
    b = __import__("dataclasses").replace(b, estimated_events=100.0)
    with pytest.raises(InputError, match="20x the estimate"):
        run(spec, built=b, limits=limits.Limits(max_events=1e12, max_memory_bytes=1e12))
