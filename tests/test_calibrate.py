"""Calibration fits shared factors that lower the log error, and profiles round-trip through YAML."""

import random
from importlib import resources

import numpy as np
import pytest

from servecost import profiles
from servecost.calibrate import fit, fit_profiles, log_residuals
from servecost.efficiency import DEFAULT
from servecost.errors import InputError
from servecost.readers import read_aic_csv

CALIBRATION = str(resources.files("servecost").joinpath("data/calibration/aic_silicon_calibration.csv"))


@pytest.fixture(scope="module")
def sample():
    runs = [r for r in read_aic_csv(CALIBRATION) if r.mode == "agg"]
    return random.Random(1).sample(runs, 150)


def test_fit_lowers_the_error_and_stays_in_bounds(sample):
    eff = fit(sample)
    assert np.sum(log_residuals(sample, eff) ** 2) < np.sum(log_residuals(sample, DEFAULT) ** 2)
    assert 0 < eff.gemm_flops_frac <= 1 and 0 < eff.mem_bw_frac <= 1 and eff.step_overhead_s < 0.03


def test_profiles_per_engine_round_trip(sample, tmp_path):
    fitted = fit_profiles(sample, meta={"note": "test"})
    assert set(fitted.groups) <= set(profiles.ENGINES)
    path = tmp_path / "profile.yaml"
    profiles.write(fitted, path)
    again = profiles.load(path)
    assert again.default == fitted.default and again.groups == fitted.groups
    some_engine = next(iter(fitted.groups))
    assert again.get(some_engine, "h100-sxm") == fitted.groups[some_engine]
    assert again.get("unknown-engine", "h100-sxm") == fitted.default


def test_generation_specific_set_wins_over_engine_set():
    p = profiles.from_mapping({"default": {"mem_bw_frac": 0.5}, "profiles": {
        "vllm": {"mem_bw_frac": 0.6}, "vllm/hopper": {"mem_bw_frac": 0.7}}}, "test")
    assert p.get("vllm", "h200-sxm").mem_bw_frac == 0.7
    assert p.get("vllm", "b200").mem_bw_frac == 0.6
    assert p.get("", "b200").mem_bw_frac == 0.5


def test_shipped_profile_is_versioned_and_loads():
    shipped = profiles.shipped()
    assert shipped.meta["format"] == 1 and shipped.meta["runs"] == 2018
    assert set(shipped.groups) == {"trtllm", "vllm", "sglang"}


def test_bare_mapping_is_a_default_only_profile(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("mem_bw_frac: 0.7\n")
    assert profiles.load(path).default.mem_bw_frac == 0.7


def test_bad_profile_is_an_input_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("default: {mem_bw_frac: -1}\n")
    with pytest.raises(InputError, match="mem_bw_frac"):
        profiles.load(path)
