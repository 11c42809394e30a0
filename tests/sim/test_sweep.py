"""Sweeps: every grid point x seed, identical rows from one process, a process pool and Ray."""

import pytest
import yaml

from servecost.errors import InputError
from servecost.sim.sweep import sweep

SCENARIO = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "deployment": {"tp": 1}, "duration_s": 60,
            "fleet": {"replicas": 2},
            "workload": {"streams": [{"rate_per_s": 5, "input_tokens": 800, "output_tokens": 100,
                                      "input_spread": 0.5}]}}


@pytest.fixture
def sweep_file(tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(SCENARIO))
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"scenario": "base.yaml", "seeds": [0, 1],
                                    "grid": {"fleet.router": ["least_tokens", "round_robin"],
                                             "workload.streams.0.rate_per_s": [5, 10]}}))
    return path


def test_grid_times_seeds_in_order_and_pool_equals_serial(sweep_file):
    serial = sweep(sweep_file, workers=1)
    pooled = sweep(sweep_file, workers=2)
    assert len(serial) == 8
    assert [(r["fleet.router"], r["workload.streams.0.rate_per_s"], r["seed"]) for r in serial][:3] == \
        [("least_tokens", 5, 0), ("least_tokens", 5, 1), ("least_tokens", 10, 0)]
    assert serial == pooled
    assert serial[0]["interactive_ttft_p99_s"] > 0 and serial[2]["output_tokens_per_s"] > serial[0]["output_tokens_per_s"]


def test_ray_gives_the_same_rows(sweep_file):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = sweep(sweep_file, ray_address="local")
    finally:
        ray.shutdown()
    assert on_ray == sweep(sweep_file, workers=1)


@pytest.mark.parametrize("text, words", [
    ("scenario: base.yaml\ngird: {}\n", ["gird", "allowed keys"]),
    ("scenario: base.yaml\ngrid: {fleet.routr: [a]}\n", ["fleet.routr", "router"]),
    ("scenario: base.yaml\ngrid: {fleet.router: []}\n", ["grid.fleet.router", "empty"]),
    ("scenario: missing.yaml\n", ["missing.yaml", "no such file"]),
])
def test_bad_sweep_files_get_one_line(tmp_path, text, words):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(SCENARIO))
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        sweep(path)
    assert "\n" not in str(exc.value) and all(w in str(exc.value) for w in words), str(exc.value)
