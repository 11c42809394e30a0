"""Calibration fits shared factors that lower the log TPOT error, and the profile round-trips."""

import random
from importlib import resources

import numpy as np
import pytest

from servecost.calibrate import fit, log_residuals, write_profile
from servecost.efficiency import DEFAULT, load_profile
from servecost.errors import InputError
from servecost.measured import read_aic_csv

CALIBRATION = str(resources.files("servecost").joinpath("data/calibration/aic_silicon_calibration.csv"))


@pytest.fixture(scope="module")
def sample():
    runs = [r for r in read_aic_csv(CALIBRATION) if r.mode == "agg"]
    return random.Random(1).sample(runs, 120)


def test_fit_lowers_the_error_and_stays_physical(sample, tmp_path):
    eff, stats = fit(sample)
    assert stats["tpot_median_ape_after"] <= stats["tpot_median_ape_before"]
    assert 0 < eff.gemm_flops_frac <= 1 and 0 < eff.mem_bw_frac <= 1 and eff.step_overhead_s < 0.02
    path = tmp_path / "profile.yaml"
    write_profile(eff, stats, str(path))
    assert load_profile(path) == eff
    assert np.sum(log_residuals(sample, eff) ** 2) <= np.sum(log_residuals(sample, DEFAULT) ** 2) * 1.05


def test_bad_profile_is_an_input_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("default: {mem_bw_frac: -1}\n")
    with pytest.raises(InputError, match="mem_bw_frac"):
        load_profile(path)
