"""Parameter counts summed from each config.json match the published totals within 2%."""

import pytest

from servecost import models
from servecost import params as P


@pytest.mark.parametrize("model_id", list(models.catalogue()))
def test_total_params_match_published_within_2pct(model_id):
    m = models.get(model_id)
    assert P.total_params(m) == pytest.approx(m.published_total_params, rel=0.02)


def test_llama_8b_by_hand(llama8b):
    """Llama-3.1-8B: 32 x (attention 4096*(4096+2*1024+4096) + FFN 3*4096*14336) + 2 * 128256*4096."""
    attention = 4096 * (4096 + 2 * 8 * 128 + 4096)
    ffn = 3 * 4096 * 14336
    by_hand = 32 * (attention + ffn) + 2 * 128256 * 4096
    assert P.total_params(llama8b) == by_hand


def test_moe_active_is_far_below_total(kimi):
    assert P.active_params(kimi) < 0.05 * P.total_params(kimi)
    assert P.active_params(kimi) == pytest.approx(kimi.published_active_params, rel=0.05)


def test_mla_kv_is_latent_plus_rope(kimi):
    assert P.kv_elements_per_token_layer(kimi) == 512 + 64


def test_gqa_kv_by_hand(llama8b):
    assert P.kv_elements_per_token_layer(llama8b) == 2 * 8 * 128


def test_mla_down_projections_are_whole_on_every_tensor_parallel_rank(kimi, llama8b):
    """vLLM and SGLang build q_a_proj and kv_a_proj_with_mqa as ReplicatedLinear: at TP8 a rank holds
    them whole and an eighth of the rest; GQA attention splits evenly."""
    from servecost import memory
    from servecost.parallel import Parallel
    rep = kimi.n_softmax_layers * kimi.d_model * (kimi.q_lora_rank + kimi.kv_lora_rank + kimi.qk_rope_head_dim)
    assert P.replicated_attention_params(kimi) == rep
    assert P.attention_params_per_rank(kimi, 8) == pytest.approx((P.attention_params(kimi) - rep) / 8 + rep)
    assert P.attention_params_per_rank(llama8b, 8) == pytest.approx(P.attention_params(llama8b) / 8)
    one, eight = (memory.weight_bytes_per_chip(kimi, Parallel(tp=t, ep=t), "fp8", "fp8") for t in (1, 8))
    assert one - eight == pytest.approx((P.attention_params(kimi) - rep) * 7 / 8
                                        + (P.total_params(kimi) - P.attention_params(kimi)) * 7 / 8, rel=0.01)
