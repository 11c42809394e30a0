"""The simulator's summary dataclasses: as_dict() gives the JSON the string-keyed summary gave (same
keys, same order, same values), optional keys only where they were, and readers get attributes."""

import dataclasses
import json
from pathlib import Path

import pytest

from servecost.economics import Assumptions
from servecost.sim import output, schema
from servecost.sim.run import run
from servecost.sim.summary import (ClassSummary, CostSummary, DeploymentSummary, FleetSummary, SloSummary, Stats,
                                   Summary)

DATA = Path(__file__).parents[1] / "data"
WALL = ("wall_s", "simulated_requests_per_wall_s", "steps_per_wall_s")   # wall-clock: differ run to run
# a 60 s, two-replica run with both classes; its summary as the dict-building code wrote it
# (tests/data/sim_summary_small.json, wall-clock fields dropped)
SMALL = {"name": "small", "model": "llama-3.1-8b", "hardware": "h100-sxm", "engine": "vllm",
         "slo": {"ttft_s": 1.0, "tpot_s": 0.05}, "duration_s": 60, "seed": 3,
         "fleet": {"replicas": 2, "max_seqs": 16, "kv_tokens": 20000},
         "workload": {"streams": [
             {"class": "interactive", "rate_per_s": 3, "input_tokens": 1000, "output_tokens": 200,
              "output_spread": 0.8},
             {"class": "batch", "rate_per_s": 4, "input_tokens": 800, "output_tokens": 300, "deadline_s": 100}]}}


@pytest.fixture(scope="module")
def small():
    return run(schema.parse(SMALL))


def _stats(x: float) -> Stats:
    return Stats(mean=x, p50=x, p90=2 * x, p99=3 * x)


def _class(**extra) -> ClassSummary:
    return ClassSummary(requests=10, completed=9, ttft_s=_stats(0.1), tpot_s=_stats(0.01), itl_s=_stats(0.01),
                        e2e_s=_stats(2.0), met_target_frac=0.9, goodput_rps=1.5, preemptions=0, **extra)


def _deployment(**extra) -> DeploymentSummary:
    return DeploymentSummary(model="m", hardware="h", engine="all", tp=4, pp=1, ep=1, dp_attn=1, chips_per_replica=4,
                             weight_dtype="fp8", expert_dtype="fp8", kv_dtype="fp8", draft_tokens=0, max_seqs=256,
                             token_budget=8192, kv_tokens_per_replica=10**6, replicas=2, prefill_replicas=0, chips=8,
                             **extra)


def test_a_run_gives_the_summary_the_dicts_gave(small):
    """Every key, in order, and every value but the cost's (prices move) as recorded before the dataclasses."""
    recorded = json.loads((DATA / "sim_summary_small.json").read_text())
    now = {k: v for k, v in small.as_dict().items() if k not in WALL}
    assert json.dumps(list(now)) == json.dumps(list(recorded))
    assert {k: v for k, v in now.items() if k != "cost"} == {k: v for k, v in recorded.items() if k != "cost"}
    assert json.dumps({k: v for k, v in now.items() if k != "cost"}, indent=2) == \
        json.dumps({k: v for k, v in recorded.items() if k != "cost"}, indent=2)
    assert list(now["cost"]) == list(recorded["cost"])


def test_as_dict_round_trips_through_json(small):
    d = small.as_dict()
    assert json.loads(json.dumps(d)) == d
    assert d == small.summary.as_dict()


def test_attributes_read_what_the_dict_holds(small):
    s, d = small.summary, small.as_dict()
    assert s.classes["interactive"].ttft_s.p99 == d["classes"]["interactive"]["ttft_s"]["p99"]
    assert s.classes["batch"].deadline_misses == d["classes"]["batch"]["deadline_misses"]
    assert s.deployment.max_seqs == d["deployment"]["max_seqs"] == 16
    assert s.fleet.slot_occupancy_mean == d["fleet"]["slot_occupancy_mean"]
    assert s.cost.usd_per_mtok_output == d["cost"]["usd_per_mtok_output"]
    assert s.slo == SloSummary(1.0, 0.05) and s.overload is None and "overload" not in d


def test_summary_json_is_as_dict(small, tmp_path):
    output.write(small, tmp_path, charts_too=False)
    assert json.loads((tmp_path / "summary.json").read_text()) == small.as_dict()


def test_stats_keys_in_order_and_null_when_nothing_finished():
    assert list(_stats(1.0).as_dict()) == ["mean", "p50", "p90", "p99"]
    assert Stats(None, None, None, None).as_dict() == {"mean": None, "p50": None, "p90": None, "p99": None}


def test_batch_keys_only_on_a_batch_class():
    keys = ["requests", "completed", "ttft_s", "tpot_s", "itl_s", "e2e_s", "met_target_frac", "goodput_rps",
            "preemptions"]
    assert list(_class().as_dict()) == keys
    batch = _class(deadline_misses=1, output_tokens_done=2700).as_dict()
    assert list(batch) == keys + ["deadline_misses", "output_tokens_done"]
    assert batch["ttft_s"] == {"mean": 0.1, "p50": 0.1, "p90": 0.2, "p99": 0.30000000000000004}


def test_prefill_keys_only_on_a_mixed_fleet():
    assert list(_deployment().as_dict())[-1] == "chips"
    mixed = _deployment(prefill_hardware="h100-sxm", prefill_chips_per_replica=2, prefill_tp=1, prefill_dp_attn=2,
                        prefill_pp=1, prefill_ep=1).as_dict()
    assert list(mixed)[-7:] == ["chips", "prefill_hardware", "prefill_chips_per_replica", "prefill_tp",
                                "prefill_dp_attn", "prefill_pp", "prefill_ep"]
    assert dataclasses.replace(_deployment(), prefill_replicas=3).all_replicas == 5


def test_nulls_that_were_written_stay_written():
    """energy per token and $/Mtok were null, not absent, when nothing finished."""
    fleet = FleetSummary(0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0.0, 0.0, None, 0.0)
    cost = CostSummary(100.0, 5.0, None, Assumptions())
    assert fleet.as_dict()["energy_j_per_output_token"] is None
    assert cost.as_dict()["usd_per_mtok_output"] is None and cost.as_dict()["assumptions"] == Assumptions().as_dict()


def test_overload_warning_is_the_last_key_when_set(small):
    s = dataclasses.replace(small.summary, overloaded=True, overload="overloaded: queues grow")
    assert list(s.as_dict())[-2:] == ["cost", "overload"]
    assert isinstance(s, Summary)


def test_summaries_are_frozen(small):
    with pytest.raises(dataclasses.FrozenInstanceError):
        small.summary.fleet.preemptions = 3
