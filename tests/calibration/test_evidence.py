"""Published measurements per family: every row sourced, predicted or skipped with a reason."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from servecost import bands, hardware
from servecost.calibration import evidence
from servecost.errors import InputError

TABLE = Path(__file__).parents[1] / "data" / "family_runs.csv"


@pytest.fixture(scope="module")
def rows():
    return evidence.read(TABLE)


def test_every_row_names_its_source_and_conditions(rows):
    assert len(rows) >= 50
    for r in rows:
        assert r.url.startswith("http") and r.conditions and r.value > 0
        assert r.metric in evidence.METRICS + evidence.RECORDED_METRICS


def test_every_non_nvidia_family_has_measurements(rows):
    fams = set(evidence.by_family(rows))
    assert {"wafer", "lpu", "rdu", "tpu", "trainium", "gaudi", "gpu"} <= fams


def test_each_row_is_predicted_or_skipped_with_a_reason(rows):
    for r, why in evidence.usable(rows)[:40]:
        if why is None:
            assert np.isfinite(evidence.predict(r)) or r.chips, r
        else:
            assert isinstance(why, str) and why


def test_a_later_measurement_supersedes_the_same_deployment(rows):
    old = evidence.superseded(rows)
    for i in old:
        later = [r for r in rows if evidence._deployment(r) == evidence._deployment(rows[i])
                 and r.date > rows[i].date]
        assert later


def test_speed_ratio_inverts_times():
    r = evidence.Row("lpu", "groq-lpu", "llama-3.1-8b", 0, 1, 0, 0, "", "tpot_s", 0.01, "2025", "http://x", "c")
    assert evidence.ratio(r, 0.005) == pytest.approx(2.0)     # half the time: twice the speed


def test_malformed_table_names_the_line(tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text(TABLE.read_text().splitlines()[0] + "\nwafer,cerebras-cs3,llama-3.1-8b,x,1,,,,m,1,t,d,u,c\n")
    with pytest.raises(InputError, match="line 2"):
        evidence.read(bad)


def test_shipped_family_bands_hold_the_prediction():
    for fam in bands.family_evidence():
        lo, hi = bands.rate_band(100.0, fam)
        assert lo <= 100.0 <= hi


def test_plan_options_state_their_backing():
    b = bands.backing(hardware.get("cerebras-cs3"))
    assert b["runs"] > 0 and "wafer" in b["evidence"]
    assert bands.backing(hardware.get("h100-sxm"))["runs"] > 1000
    assert bands.backing(hardware.get("tpu-v7"))["engine"] == "vllm-tpu"     # the host cost it plans with
    assert "engine" not in b


def _mlperf_row(**kw):
    base = dict(family="gpu", hardware="mi300x", model="meta-llama/Llama-2-70b-chat-hf", chips=8, concurrency=0,
                input_tokens=0, output_tokens=294, weight_dtype="fp8", metric="output_tokens_per_s_total",
                value=20000.0, date="2025", url="http://x", conditions="c")
    return evidence.Row(**(base | kw))


def test_a_system_row_counts_whole_replicas_of_any_size():
    """layout=system: the 8-GPU total is the best per-GPU rate of any replica that fits, times 8."""
    per_gpu = evidence.predict(_mlperf_row(metric="output_tokens_per_s_per_chip", layout="system"))
    total = evidence.predict(_mlperf_row(layout="system"))
    assert total == pytest.approx(8 * per_gpu, rel=1e-9)
    assert per_gpu >= evidence.predict(_mlperf_row(metric="output_tokens_per_s_per_chip"))   # TP8 only


def test_a_tpot_bound_lowers_the_throughput():
    free = evidence.predict(_mlperf_row(layout="system"))
    bound = evidence.predict(_mlperf_row(layout="system", tpot_limit_s=0.04))
    assert bound < free


def test_a_ttft_bound_lowers_the_throughput_and_an_impossible_one_leaves_none():
    tpot_bound = evidence.predict(_mlperf_row(layout="system", input_tokens=222, tpot_limit_s=0.04))
    both = evidence.predict(_mlperf_row(layout="system", input_tokens=222, tpot_limit_s=0.04, ttft_limit_s=0.45))
    assert both <= tpot_bound
    assert np.isnan(evidence.predict(_mlperf_row(layout="system", input_tokens=222, ttft_limit_s=1e-6)))


def test_fp8_kv_cache_holds_more_requests():
    bf16 = evidence.predict(_mlperf_row(layout="system"))
    assert evidence.predict(_mlperf_row(layout="system", kv_dtype="fp8")) > bf16


def test_fp4_weights_of_a_16_bit_model_are_fp4():
    """'fp4' keeps a model released in a 4-bit format native, and quantizes a 16-bit one."""
    from servecost import models
    llama, oss = models.get("llama-2-70b"), models.get("gpt-oss-120b")
    assert evidence._precision(llama, "fp4").weight == "fp4"
    assert evidence._precision(oss, "fp4") == evidence._precision(oss, "")


def test_a_stream_faster_than_the_chip_allows_at_every_peak_is_skipped_with_its_bound(rows):
    """The physical bound: every share of a peak at 1, no fixed cost. A published speed above it cannot
    have been measured under the stated conditions (a technique or system the row does not state)."""
    row = next(r for r in rows if r.hardware == "sn40l" and r.model == "llama-3.1-405b"
               and r.metric == "output_tokens_per_s_per_user")
    bound = evidence.physical_bound(row)
    assert bound < row.value
    why = evidence.skip_reason(row)
    assert why.startswith("beyond what the chip allows") and f"{bound:.3g} tok/s" in why
    slower = replace(row, value=bound * 0.9)
    assert evidence.skip_reason(slower) is None
    assert evidence.predict(slower) <= bound


def test_a_throughput_is_held_to_the_bound_only_where_its_lengths_are_published(rows):
    gaudi = next(r for r in rows if r.hardware == "gaudi3" and r.model == "meta-llama/Llama-2-7b-chat-hf"
                 and r.concurrency == 75)
    assert gaudi.kv_dtype == "fp8" and evidence.skip_reason(gaudi) is None   # FP8 KV: within the bound
    bf16_kv = replace(gaudi, kv_dtype="")
    assert evidence.skip_reason(bf16_kv).startswith("beyond what the chip allows")
    assert evidence.skip_reason(replace(bf16_kv, input_tokens=0)) is None    # an assumed prompt would set it
