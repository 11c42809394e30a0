"""--hardware-file: your own chips, validated like a config.json, priced beside the catalogue."""

import json

import pytest
import yaml

from test_cli import run   # the CLI as a user runs it: (exit code, stdout, stderr)

CHIP = {"id": "my-chip", "family": "gpu", "bf16_tflops": 3000, "fp8_tflops": 6000, "hbm_gib": 256,
        "hbm_gb_per_s": 12000, "scaleup_domain_chips": 72, "scaleup_gb_per_s_per_dir": 1800,
        "scaleout_gb_per_s_per_dir": 100, "tdp_w": 1500, "idle_w": 250, "system_load_w": 2300,
        "chip_price_usd": 50000}


def write(tmp_path, chips, name="chips.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"chips": chips}))
    return str(path)


def test_own_chip_is_planned_beside_a_catalogue_one(capsys, tmp_path):
    code, out, err = run(capsys, "plan", "--hardware-file", write(tmp_path, [CHIP]), "--hardware", "my-chip,b200",
                         "--model", "llama-3.1-70b", "--users", "1000", "--format", "json")
    assert code == 0, err
    ids = {o["hardware"] for o in json.loads(out)["options"]}
    assert ids == {"my-chip", "b200"}


@pytest.mark.parametrize("command", [["frontier", "--model", "llama-3.1-8b"],
                                     ["predict", "--model", "llama-3.1-8b"],
                                     ["power", "--model", "llama-3.1-8b", "--budget-mw", "1"]])
def test_own_chip_in_other_commands(capsys, tmp_path, command):
    code, _, err = run(capsys, *command, "--hardware-file", write(tmp_path, [CHIP]), "--hardware", "my-chip",
                       "--format", "json")
    assert code == 0, err


@pytest.mark.parametrize("change, field", [
    ({"tdp_w": None}, "tdp_w"),                       # missing column
    ({"hbm_gb_per_s": 0}, "hbm_gb_per_s"),            # zero bandwidth
    ({"bf16_tflops": "fast"}, "bf16_tflops"),         # text where a number belongs
    ({"bf16_tflops": 1e18}, "bf16_tflops"),           # a 10^30 FLOP/s chip
    ({"family": "quantum"}, "family"),
    ({"id": "b200"}, "b200"),                         # clashes with the catalogue
    ({"idle_w": 5000}, "idle_w"),
    ({"tdp_w": float("inf")}, "tdp_w"),
    ({"colour": "red"}, "colour"),                    # unknown column
    ({"mamf_tflops": 4000}, "mamf_tflops"),           # a measured matmul rate above the chip's peak
])
def test_bad_chip_is_one_line_naming_the_field(capsys, tmp_path, change, field):
    chip = {k: v for k, v in (CHIP | change).items() if v is not None}
    code, out, err = run(capsys, "plan", "--hardware-file", write(tmp_path, [chip]), "--hardware", chip["id"])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert field in err


@pytest.mark.parametrize("text", ["", "[1, 2]", "chips: {", "just text"])
def test_malformed_file_is_one_line(capsys, tmp_path, text):
    path = tmp_path / "chips.yaml"
    path.write_text(text)
    code, _, err = run(capsys, "plan", "--hardware-file", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "hardware-file" in err


def test_csv_file_with_the_catalogue_columns(capsys, tmp_path):
    path = tmp_path / "chips.csv"
    path.write_text(",".join(CHIP) + "\n" + ",".join(str(v) for v in CHIP.values()) + "\n")
    code, _, err = run(capsys, "predict", "--model", "llama-3.1-8b", "--hardware", "my-chip",
                       "--hardware-file", str(path), "--format", "json")
    assert code == 0, err


def test_missing_file_is_one_line(capsys):
    code, _, err = run(capsys, "plan", "--hardware-file", "/no/such/chips.yaml")
    assert code == 2 and "no such file" in err


def test_api_prices_a_pasted_chip_beside_the_catalogue():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from servecost.web.app import create_app
    with TestClient(create_app()) as client:
        body = {"model": "llama-3.1-8b", "users": 1000, "speed": 30, "hardware": ["my-chip", "h100-sxm"],
                "chips": [CHIP]}
        r = client.post("/api/plan", json=body)
        assert r.status_code == 200, r.text
        assert {o["hardware"] for o in r.json()["options"]} == {"my-chip", "h100-sxm"}
        bad = client.post("/api/plan", json=body | {"chips": [CHIP | {"bf16_tflops": 1e18}]})
        assert bad.status_code == 422 and "bf16_tflops" in bad.json()["detail"]
        alone = client.post("/api/plan", json={"model": "llama-3.1-8b", "hardware": ["my-chip"]})
        assert alone.status_code == 422          # another request's chip is not known here


def test_a_measured_matmul_ceiling_slows_the_chips_gemms(capsys, tmp_path):
    """mamf_tflops: the chip's GEMMs run at its measured share of peak relative to H100's; compute-bound
    prefill slows by about that ratio, and a chip without one keeps the calibrated share."""
    def prefill_s(chip):
        code, out, err = run(capsys, "predict", "--hardware-file", write(tmp_path, [chip]), "--hardware", "my-chip",
                             "--model", "llama-3.1-8b", "--phase", "prefill", "--batch", "4", "--seq", "8192",
                             "--format", "json")
        assert code == 0, err
        return json.loads(out)["time_s"]
    plain, slow = prefill_s(CHIP), prefill_s(CHIP | {"mamf_tflops": 1500})
    assert 1.2 < slow / plain < 1.6       # 1500 / 3000 = 0.50 of peak against H100's 0.80
