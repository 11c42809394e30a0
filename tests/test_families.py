"""Hardware families: each pays its own fixed costs, power and memory; torus all-to-all; memory tiers."""

from dataclasses import replace

import numpy as np
import pytest

from servecost import families, hardware, models
from servecost.calibration import evidence
from servecost.comms import bisection_share
from servecost.efficiency import DEFAULT, from_dict
from servecost.errors import InputError
from servecost.parallel import Parallel
from servecost.power import chip_power_w
from servecost.profiles import shipped
from servecost.roofline import Precision, step, with_host_s


def test_every_catalogue_family_is_described():
    for hw in hardware.catalogue().values():
        assert families.get(hw.family).execution in families.EXECUTIONS


@pytest.mark.parametrize("hw_id", ["cerebras-cs3", "groq-lpu", "sn40l"])
def test_dataflow_machines_pay_no_gpu_host_overheads(hw_id):
    """A statically scheduled machine gets the family's stated costs, not the NVIDIA engines' fit."""
    eff = shipped().get(None, hardware.get(hw_id))
    fam = families.get(hardware.get(hw_id).family)
    assert fam.execution == "dataflow"
    fitted = set(evidence.FAMILY_FACTORS.get(fam.name, evidence.FAMILY_FACTORS[fam.execution]))   # refit on its rows
    for name, value in fam.overheads.items():
        if name not in fitted:
            assert getattr(eff, name) == value
    assert eff.seq_overhead_s < shipped().default.seq_overhead_s
    assert eff.decode_attn_item_s == 0.0 < shipped().default.decode_attn_item_s   # no thread block per item
    assert eff.gemm_flops_frac == shipped().default.gemm_flops_frac   # kernel factors carried over


def test_gpus_keep_their_fitted_factors():
    assert shipped().get(None, hardware.get("h100-sxm")) == shipped().default
    assert shipped().get("trtllm", "h200-sxm") == shipped().groups["trtllm"]
    assert shipped().get("trtllm", "b200") == shipped().groups["trtllm/blackwell"]


def test_bisection_share_is_one_on_small_slices_and_falls_with_the_side():
    """4 / (k s): a 16x16 torus gives an all-to-all 1/8 of a chip's links; a 2x2 slice all of them."""
    assert bisection_share(4, 2) == pytest.approx(1.0)
    assert bisection_share(256, 2) == pytest.approx(4 / (2 * 16))
    assert bisection_share(64, 3) == pytest.approx(4 / (3 * 4))
    assert np.all(np.diff(bisection_share(np.array([4, 16, 64, 256]), 2)) <= 0)


def test_a_torus_slows_wide_expert_parallelism_against_a_switch():
    m, prec = models.get("deepseek-v3"), Precision(weight="fp8", expert="fp8")
    v5p = hardware.get("tpu-v5p")
    par = Parallel(tp=1, dp_attn=64, ep=64)
    torus = step(m, replace(v5p, topology="torus3d"), par, prec, decode_seqs=2048, context_tokens=2048).step_s
    switched = step(m, replace(v5p, topology="switch"), par, prec, decode_seqs=2048, context_tokens=2048).step_s
    assert torus > switched


def test_two_memory_tiers_stream_at_their_harmonic_blend():
    """R bytes, r1 in HBM at W1 and the rest in DDR at W2: W = R / (r1/W1 + r2/W2)."""
    hw = replace(hardware.get("sn40l"), hbm_bytes=64e9, hbm_bytes_per_s=1.6e12, dram_bytes=1.5e12,
                 dram_bytes_per_s=0.2e12)
    assert hw.streaming_bytes_per_s(32e9) == pytest.approx(1.6e12)
    expected = 128e9 / (64e9 / 1.6e12 + 64e9 / 0.2e12)
    assert hw.streaming_bytes_per_s(128e9) == pytest.approx(expected)
    assert hw.mem_capacity_bytes == pytest.approx(64e9 + 1.5e12)


def test_memory_is_the_reported_capacity_less_the_family_reserve():
    for hw in hardware.catalogue().values():
        reserve = families.get(hw.family).reserve_frac
        assert hw.mem_bytes == pytest.approx(hw.mem_capacity_bytes * (1 - reserve))


def test_static_power_machines_draw_load_power_whatever_their_sram_use():
    cs3, h100 = hardware.get("cerebras-cs3"), hardware.get("h100-sxm")
    assert chip_power_w(cs3, 0.0, 0.001) == pytest.approx(cs3.load_w)
    assert chip_power_w(h100, 1.0, 1.0) == pytest.approx(h100.load_w)
    # the rest of the system (CPUs, switches, NICs, fans) draws its share whatever the chip does
    assert chip_power_w(h100, 0.0, 0.0) == pytest.approx(h100.load_w - h100.tdp_w + h100.idle_w)


def test_wall_power_is_at_least_the_chip():
    for hw in hardware.catalogue().values():
        assert hw.load_w >= hw.tdp_w and hw.idle_wall_w >= hw.idle_w


def test_host_time_overlaps_the_device_by_its_share():
    eff = replace(DEFAULT, host_overlap_frac=1.0)
    assert with_host_s(10e-3, 2e-3, eff) == pytest.approx(10e-3)          # hidden under the device
    assert with_host_s(1e-3, 2e-3, eff) == pytest.approx(2e-3)            # the host is the bottleneck
    assert with_host_s(10e-3, 2e-3, DEFAULT) == pytest.approx(12e-3)      # no overlap: after it


def test_zero_fixed_costs_are_valid_but_negative_or_nan_are_not():
    assert from_dict({"step_overhead_s": 0.0}).step_overhead_s == 0.0
    for bad in ({"gemm_flops_frac": 0.0}, {"step_overhead_s": -1.0}, {"mem_bw_frac": float("nan")}):
        with pytest.raises(InputError):
            from_dict(bad)


def test_each_named_engine_fits_its_own_host_cost(monkeypatch):
    """Two engines on the same chip and model, one half as fast at the same batch: the slower one's
    host time per running sequence comes out larger, and each row is predicted with its own engine's."""
    monkeypatch.setattr(evidence, "ROWS_PER_FACTOR", 1)
    base = families.get("tpu").efficiency(shipped().default)
    row = evidence.Row(family="tpu", hardware="tpu-v5e", model="llama-3.1-8b", chips=4, concurrency=64,
                       input_tokens=200, output_tokens=200, weight_dtype="bf16", metric="output_tokens_per_s_total",
                       value=0.0, date="2026", url="test", conditions="test")
    fast = {c: evidence.predict(replace(row, concurrency=c), eff=base) for c in (32, 64)}
    assert np.isfinite(list(fast.values())).all()
    rows = [replace(row, engine=e, value=fast[c] * k, concurrency=c)
            for e, k in (("fast-engine", 1.0), ("slow-engine", 0.5)) for c in (32, 64)]
    fit = evidence.fit_family(rows, base, "graph")
    assert set(fit.engines) == {"fast-engine", "slow-engine"}
    assert fit.engines["slow-engine"].seq_overhead_s > 2 * fit.engines["fast-engine"].seq_overhead_s
    assert fit.for_row(rows[-1]) is fit.engines["slow-engine"]
    assert fit.for_row(replace(row, engine="")) is fit.shared      # an unnamed engine keeps the family's cost


def test_tpu_plans_with_the_host_cost_of_vllm_tpu():
    assert families.get("tpu").engine == "vllm-tpu"
    tpu = shipped().get(None, hardware.get("tpu-v7"))
    assert tpu.seq_overhead_s != families.get("tpu").overheads["seq_overhead_s"]   # fitted on its own rows


def test_a_chips_matmul_ceiling_is_its_measured_share_over_h100s():
    """hardware.csv mamf_tflops: MI300X reaches 668 of 1,307 TFLOP/s where H100 reaches 794.5 of 989."""
    mi300x, h100, tpu = (hardware.get(h) for h in ("mi300x", "h100-sxm", "tpu-v7"))
    assert h100.matmul_scale == pytest.approx(1.0)
    assert mi300x.matmul_scale == pytest.approx((668.4 / 1307.4) / (794.5 / 989.4))
    assert tpu.matmul_scale == 1.0                       # not measured: its family fit absorbs it
    assert mi300x.matmul_flops_per_s("fp8") == pytest.approx(mi300x.fp8_flops_per_s * mi300x.matmul_scale)


def test_a_row_that_states_its_tensor_parallel_degree_is_predicted_at_it():
    """AMD's TP8 vLLM server of Llama-3.1-70B at 3,200 in flight: the search alone finds a faster
    data-parallel layout than the one measured."""
    rows = evidence.read("tests/data/family_runs.csv")
    row = next(r for r in rows if r.hardware == "mi300x" and r.model == "llama-3.1-70b" and r.concurrency == 3200)
    assert row.tp == 8
    assert evidence.predict(row) < 0.7 * evidence.predict(replace(row, tp=0))


def test_a_factor_the_rows_cannot_pin_stays_at_its_stated_value():
    """The family fit pulls each factor towards its stated value: rows that are all large-batch throughputs
    on one chip leave the per-layer cost where the family states it (fitted freely it landed anywhere
    from 1 to 50 us at the same error)."""
    rows = [r for r, why in evidence.usable(evidence.read("tests/data/family_runs.csv"))
            if why is None and r.hardware == "tpu-v7" and r.concurrency >= 64]
    fam = families.get("tpu")
    base = fam.efficiency(shipped().default)
    fitted = evidence.fit_family(rows, base, "graph").shared.layer_overhead_s
    assert fitted == pytest.approx(base.layer_overhead_s, rel=0.5)
