"""The command line: JSON shapes, and bad input as one line on stderr with exit code 2."""

import json

import pytest

from servecost.cli import main


def run(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_predict_decode_json(capsys):
    code, out, _ = run(capsys, "predict", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--phase", "decode",
                       "--batch", "8", "--context", "1024", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["step_s"] > 0 and data["tokens_per_s"] == pytest.approx(8 / data["step_s"])
    assert data["chips"] == 1 and data["weight_dtype"] == "bf16"


def test_predict_prefill_json(capsys):
    code, out, _ = run(capsys, "predict", "--model", "llama-3.1-70b", "--hardware", "h100-sxm", "--phase", "prefill",
                       "--batch", "2", "--seq", "4096", "--tp", "4", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["time_s"] > 0 and data["tp"] == 4


def test_predict_picks_fewest_chips_that_fit(capsys):
    _, out, _ = run(capsys, "predict", "--model", "llama-3.1-70b", "--hardware", "h100-sxm", "--format", "json")
    assert json.loads(out)["tp"] == 2   # 141 GB of bf16 weights: two 80 GB chips


def test_plan_json_shape(capsys):
    code, out, _ = run(capsys, "plan", "--model", "llama-3.1-70b", "--users", "1000", "--speed", "30",
                       "--hardware", "h100-sxm,mi300x,groq-lpu", "--format", "json")
    data = json.loads(out)
    assert code == 0 and {"scenario", "assumptions", "options", "infeasible"} <= set(data)
    keys = {"hardware", "vendor", "chips", "chips_per_replica", "replicas", "batch_per_replica",
            "tokens_per_s_per_user", "output_tokens_per_s_per_chip", "ttft_s", "power_mw", "capex_usd",
            "usd_per_hour", "usd_per_mtok_output", "usd_per_user_month"}
    for option in data["options"]:
        assert keys <= set(option)
    for row in data["infeasible"]:
        assert {"hardware", "reason", "max_tokens_per_s_per_user"} <= set(row)


def test_plan_csv(capsys):
    code, out, _ = run(capsys, "plan", "--model", "llama-3.1-8b", "--users", "100", "--hardware", "h100-sxm",
                       "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("hardware,")


def test_catalogue_listings(capsys):
    assert run(capsys, "models", "--format", "json")[0] == 0
    assert run(capsys, "hardware", "--format", "csv")[0] == 0


@pytest.mark.parametrize("argv, field", [
    (["plan", "--model", "kimi-k3"], "model"),
    (["plan", "--hardware", "h100"], "hardware"),
    (["plan", "--users", "0"], "users"),
    (["plan", "--users", "-5"], "users"),
    (["plan", "--speed", "0"], "speed"),
    (["plan", "--pue", "0.5"], "pue"),
    (["plan", "--kv-dtype", "fp7"], "kv_dtype"),
    (["plan", "--users", "many"], "users"),
    (["predict", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--batch", "0"], "batch"),
    (["predict", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--tp", "3"], "tp"),
    (["predict", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--batch", "100000", "--context", "100000"],
     "batch"),
    (["predict", "--model", "/no/such/config.json", "--hardware", "h100-sxm"], "model"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, field):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert field in err


def test_unsupported_config_names_missing_key(capsys, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"hidden_size": 64, "vocab_size": 10, "num_hidden_layers": 2}))
    code, _, err = run(capsys, "predict", "--model", str(path), "--hardware", "h100-sxm")
    assert code == 2 and "num_attention_heads" in err
