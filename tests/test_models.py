"""Hugging Face config.json parsing: architectures, layer patterns, dtypes, errors."""

import json

import pytest

from servecost import memory, models
from servecost.errors import InputError


def test_gpt_oss_alternates_sliding_and_full():
    m = models.get("gpt-oss-120b")
    assert (m.n_full_layers, m.n_window_layers, m.window_tokens) == (18, 18, 128)
    assert (m.weight_dtype, m.expert_dtype) == ("bf16", "mxfp4")


def test_sliding_window_caps_kv_growth():
    m = models.get("gpt-oss-120b")
    short, long = memory.kv_bytes_per_seq(m, 1000, "bf16"), memory.kv_bytes_per_seq(m, 2000, "bf16")
    per_token_full = 2 * m.n_kv_heads * m.head_dim * 2 * m.n_full_layers   # only full layers grow
    assert long - short == pytest.approx(1000 * per_token_full)


def test_hybrid_linear_attention_holds_state_not_kv():
    m = models.get("qwen3.5-397b-a17b")
    assert m.n_linear_layers == 3 * m.n_full_layers
    growth = memory.kv_bytes_per_seq(m, 2000, "bf16") - memory.kv_bytes_per_seq(m, 1000, "bf16")
    full_growth = 1000 * 2 * m.n_kv_heads * m.head_dim * 2 * m.n_full_layers
    assert growth == pytest.approx(full_growth)
    assert memory.kv_bytes_per_seq(m, 0, "bf16") > 0   # the fixed recurrent state


def test_moe_with_leading_dense_layers():
    m = models.get("deepseek-v3")
    assert (m.n_dense_layers, m.n_moe_layers, m.n_experts, m.experts_per_token, m.n_shared_experts) == (3, 58, 256, 8, 1)
    assert m.attention == "mla" and (m.weight_dtype, m.expert_dtype) == ("fp8", "fp8")


def test_native_int4_experts():
    m = models.get("kimi-k2.5")
    assert m.expert_dtype == "int4" and m.n_layers == 61


def test_config_file_path(tmp_path):
    cfg = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 1,
           "intermediate_size": 128, "vocab_size": 1000, "torch_dtype": "bfloat16"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    m = models.get(str(path))
    assert (m.n_layers, m.n_kv_heads, m.head_dim, m.dense_ffn_dim) == (2, 1, 16, 128)


def test_missing_key_is_named(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"hidden_size": 64, "num_attention_heads": 4, "vocab_size": 10}))
    with pytest.raises(InputError, match="num_hidden_layers"):
        models.get(str(path))


def test_malformed_json(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        models.get(str(path))


def test_unknown_id_suggests_close_names():
    with pytest.raises(InputError, match="did you mean"):
        models.get("kimi-k3")


def test_layer_counts_from_config_are_bounded():
    """A negative first_k_dense_replace once made the parser walk 10^12 layers; a huge layer count too."""
    import json
    from importlib import resources

    import pytest

    from servecost.errors import InputError
    from servecost.models import from_hf_config
    cfg = json.loads(resources.files("servecost").joinpath("data/configs/deepseek-v3.json").read_text())
    for bad in ({"num_hidden_layers": 5e294}, {"moe_layer_freq": 0}, {"first_k_dense_replace": -10**12}):
        with pytest.raises(InputError):
            from_hf_config({**cfg, **bad})
