"""`measure` on the CPU: the benchmark driver, the fitted factors and the profile it writes."""

import json

import pytest
import yaml

from servecost import hardware, models, profiles
from servecost.calibration import measure as bench
from servecost.cli import main

TINY = {"num_hidden_layers": 2, "hidden_size": 256, "num_attention_heads": 8, "num_key_value_heads": 2,
        "intermediate_size": 512, "vocab_size": 1000, "torch_dtype": "bfloat16"}


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


def test_numpy_run_and_fit(tiny):
    be = bench.backend("numpy")
    settings = bench.Settings(copy_bytes=2**22, gemm_size=128, layers=2, batch=2, context=64, prefill_tokens=32,
                              budget_s=0.02)
    m = models.get(str(tiny))
    measured = bench.run(m, be, settings, "fp32")
    assert measured["copy_bytes_per_s"] > 0 and measured["gemm_flops_per_s"]["fp32"] > 0
    assert measured["decode"]["step_s"] > 0 and measured["prefill"]["time_s"] > 0
    hw = hardware.get("h100-sxm")
    eff = bench.fit_factors(measured, m, hw, profiles.shipped().default)
    assert 0 < eff.mem_bw_frac <= 1 and 0 < eff.gemm_flops_frac <= 1
    assert measured["experts"]["grouped_s"] > 0 and 0 < eff.expert_mem_bw_frac <= 1
    attn = measured["attention"]
    assert attn["item_batch"] == settings.item_batch and attn["decode_item_s"] >= 0
    assert eff.decode_attn_item_s == attn["decode_item_s"]   # the measured work item, not the shipped 15 ns
    errors = bench.predict_errors(measured, m, hw, {"measured": eff})
    assert abs(errors["measured"]["decode_error"]) < 0.05 or errors["measured"]["decode_error"] > 0


def test_cli_writes_a_profile_that_loads(tiny, tmp_path, capsys):
    out = tmp_path / "measured.yaml"
    with pytest.raises(SystemExit) as exc:
        main(["measure", "--model", str(tiny), "--hardware", "h100-sxm", "--backend", "numpy", "--seconds", "0.5",
              "-o", str(out)])
        raise SystemExit(0)
    assert exc.value.code == 0
    data = yaml.safe_load(out.read_text())
    assert data["measured"]["backend"] == "numpy" and "predict_errors" in data["measured"]
    assert profiles.load(out).default.mem_bw_frac > 0


def test_moe_models_are_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["measure", "--model", "deepseek-v3", "--backend", "numpy"])
    assert exc.value.code == 2 and "dense GQA" in capsys.readouterr().err


def test_torch_backend_on_cpu(tiny):
    torch = pytest.importorskip("torch")
    be = bench.backend("torch")
    assert be.name == "torch" and be.device == ("cuda" if torch.cuda.is_available() else "cpu")
    settings = bench.Settings(2**22, 128, 2, 2, 64, 32, 0.02)
    measured = bench.run(models.get(str(tiny)), be, settings, "bf16")
    assert measured["decode"]["step_s"] > 0
