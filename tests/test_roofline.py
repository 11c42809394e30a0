"""Step-time engine sanity, each case worked by hand."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servecost import hardware, memory, models
from servecost import params as P
from servecost.parallel import Parallel
from servecost.roofline import Precision, decode_step_s, experts_touched, prefill_s, step, step_work

BF16 = Precision()


def test_decode_batch1_is_weight_bytes_over_bandwidth(llama8b, h100, ideal):
    """Batch 1: T = weight bytes read / W_hbm = (16.06 - 1.05 embedding table, a lookup) GB / 3.35 TB/s = 4.48 ms."""
    read_bytes = memory.weight_bytes(llama8b, "bf16", "bf16") - 2 * P.embedding_params(llama8b)
    weights_s = read_bytes / h100.hbm_bytes_per_s
    step = float(decode_step_s(llama8b, h100, Parallel(), BF16, 1, 1, ideal))
    assert weights_s == pytest.approx(4.48e-3, rel=0.01)
    assert step == pytest.approx(weights_s, rel=0.01)


def test_prefill_of_long_prompts_is_compute_bound(llama8b, h100, ideal):
    """8 x 8192 tokens: FLOPs ~ 2 * 65536 * 8e9 = 1.05e15 -> ~1 s at 989 TFLOP/s; bytes (weights + activations) ~0.1 s."""
    work = step_work(llama8b, Parallel(), BF16, prefill_seqs=8, prefill_tokens=8192)
    math_s = (work.dense_flops / h100.bf16_flops_per_s + work.attn_flops / h100.bf16_flops_per_s)
    mem_s = (work.dense_bytes + work.attn_bytes) / h100.hbm_bytes_per_s
    assert math_s > 5 * mem_s   # activations still move ~0.1 s of bytes; the math takes ~1 s
    t = float(prefill_s(llama8b, h100, Parallel(), BF16, 8, 8192, ideal))
    linear_flops = 2 * 8 * 8192 * (P.total_params(llama8b) - P.embedding_params(llama8b))
    assert t > linear_flops / h100.bf16_flops_per_s


def test_expert_touch_rises_from_topk_to_all(kimi):
    """E(1-(1-k/E)^n): k experts for one token, all 384 for thousands."""
    touched = experts_touched(kimi, np.array([1, 8, 64, 512, 8192]))
    assert touched[0] == pytest.approx(kimi.experts_per_token)
    assert np.all(np.diff(touched) > 0)
    assert touched[-1] == pytest.approx(kimi.n_experts, rel=1e-3)
    assert touched[2] == pytest.approx(384 * (1 - (1 - 8 / 384) ** 64))


def test_moe_decode_reads_fewer_expert_bytes_at_small_batch(kimi):
    par = Parallel(tp=1, dp_attn=8, ep=8)
    small = step_work(kimi, par, Precision.native(kimi), decode_seqs=1, context_tokens=1000)
    large = step_work(kimi, par, Precision.native(kimi), decode_seqs=4096, context_tokens=1000)
    assert small.expert_bytes < 0.05 * large.expert_bytes


def test_tensor_parallel_splits_weights(llama8b, h100, ideal):
    one = float(decode_step_s(llama8b, h100, Parallel(tp=1), BF16, 1, 100, ideal))
    two = float(decode_step_s(llama8b, h100, Parallel(tp=2), BF16, 1, 100, ideal))
    assert 0.5 * one < two < 0.7 * one   # half the bytes, plus two all-reduces per layer


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 512), context=st.integers(1, 32768), scale=st.floats(1.0, 4.0),
       model_id=st.sampled_from(["llama-3.1-8b", "qwen3-235b-a22b", "gpt-oss-120b", "deepseek-v3"]))
def test_more_bandwidth_or_flops_never_slows_a_step(batch, context, scale, model_id):
    from servecost import hardware
    m, hw = models.get(model_id), hardware.get("b200")
    par = Parallel(tp=8 if m.attention == "gqa" and m.n_kv_heads % 8 == 0 else 1,
                   dp_attn=1 if m.attention == "gqa" and m.n_kv_heads % 8 == 0 else 8, ep=8 if m.is_moe else 1)
    prec = Precision.native(m)
    base = decode_step_s(m, hw, par, prec, batch, context)
    faster_mem = replace(hw, hbm_bytes_per_s=hw.hbm_bytes_per_s * scale)
    faster_math = replace(hw, bf16_flops_per_s=hw.bf16_flops_per_s * scale, fp8_flops_per_s=hw.fp8_flops_per_s * scale,
                          fp4_flops_per_s=hw.fp4_flops_per_s * scale)
    assert decode_step_s(m, faster_mem, par, prec, batch, context) <= base * (1 + 1e-12)
    assert decode_step_s(m, faster_math, par, prec, batch, context) <= base * (1 + 1e-12)
    assert prefill_s(m, faster_math, par, prec, 1, context) <= prefill_s(m, hw, par, prec, 1, context) * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(context=st.integers(16, 16384),
       model_id=st.sampled_from(["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "gpt-oss-120b", "qwen3-32b"]),
       hw_id=st.sampled_from(["h100-sxm", "mi300x", "b200", "tpu-v6e"]))
def test_larger_batch_never_lowers_throughput_while_it_fits(context, model_id, hw_id):
    from servecost import hardware
    m, hw = models.get(model_id), hardware.get(hw_id)
    prec = Precision.native(m)
    tp = 1
    while memory.free_bytes_per_chip(m, hw.mem_bytes, Parallel(tp=tp), prec.weight, prec.expert) <= 0:
        tp *= 2
    par = Parallel(tp=tp)
    limit = float(memory.max_batch(m, hw.mem_bytes, par, context, prec.weight, prec.expert, prec.kv))
    batches = np.arange(1, max(2, min(limit, 1024)) + 1)
    tps = batches / decode_step_s(m, hw, par, prec, batches, context)
    assert np.all(np.diff(tps) >= -1e-9 * tps[:-1])


def test_critical_batch_is_the_books_240_on_a_v5e():
    """B* = C b_w / (2 W) = 197e12 x 2 / (2 x 819e9) = 240 tokens (How to Scale Your Model)."""
    from servecost.roofline import critical_batch
    v5e = hardware.get("tpu-v5e")
    assert critical_batch(v5e, "bf16") == pytest.approx(v5e.bf16_flops_per_s / v5e.hbm_bytes_per_s, rel=1e-9)
    assert 230 < critical_batch(hardware.get("tpu-v5e"), "bf16") < 250


def test_step_with_ideal_factors_is_the_textbook_step_for_a_dense_model(llama8b, h100, ideal):
    """Summed operators with peak rates and perfect overlap vs the closed form, both sides of B*.
    (Past B* the engine adds the memory-bound attention to the compute-bound GEMMs, one roofline per
    operator class, where the closed form takes one max over the whole step: so a short context there.)"""
    from servecost.roofline import textbook_decode_step_s
    for batch, context in ((1, 1024), (16, 1024), (4096, 1)):
        book = float(textbook_decode_step_s(llama8b, h100, batch, context))
        engine = float(decode_step_s(llama8b, h100, Parallel(), BF16, batch, context, ideal))
        assert engine == pytest.approx(book, rel=0.05), batch   # activations, norms, LM head: a few %


def test_decode_attention_pays_a_time_per_sequence_kv_head_and_layer(llama8b, h100, ideal):
    """The item term is n_seq x KV heads per chip x softmax layers x t_item, device time in the stage."""
    from servecost.roofline import attention_items
    par, item_s = Parallel(tp=2), 20e-9
    with_items = replace(ideal, decode_attn_item_s=item_s)
    base = step(llama8b, h100, par, Precision(), decode_seqs=64, context_tokens=1024, eff=ideal)
    slower = step(llama8b, h100, par, Precision(), decode_seqs=64, context_tokens=1024, eff=with_items)
    items = 64 * (llama8b.n_kv_heads / 2) * llama8b.n_layers
    assert float(attention_items(llama8b, par, 64)) == items
    assert float(slower.device_s - base.device_s) == pytest.approx(items * item_s, rel=1e-9)
    assert float(attention_items(models.get("deepseek-v3"), Parallel(tp=8), 64)) == 64 * 61   # MLA: one latent head


def test_mla_decode_pads_its_query_rows_to_the_mma_tile():
    """DeepSeek-V3's 128 heads at tp 8 are 16 query rows per sequence, computed as a 64-row tile (x4);
    unsplit (attention DP) they fill two tiles exactly; MTP's two tokens halve the padding."""
    from servecost.roofline import mla_tile_padding
    ds = models.get("deepseek-v3")
    assert float(mla_tile_padding(ds, 8)) == 4.0
    assert float(mla_tile_padding(ds, 1)) == 1.0
    assert float(mla_tile_padding(ds, 8, tokens_per_seq=2)) == 2.0
    assert mla_tile_padding(models.get("llama-3.1-8b"), 8) == 1.0
    tp1 = step_work(ds, Parallel(tp=1, dp_attn=8, ep=8), BF16, decode_seqs=64, context_tokens=4096)
    tp8 = step_work(ds, Parallel(tp=8, ep=8), BF16, decode_seqs=64, context_tokens=4096)
    assert float(tp8.attn_flops) == pytest.approx(4 * float(tp1.attn_flops))   # same sequences per chip, padded


def test_a_layer_pays_for_the_kernels_it_runs(ideal):
    """A dense GQA layer runs the 10 kernels t_layer is the cost of; DeepSeek-V3's MLA + routed and
    shared experts run about twice as many, gpt-oss's GQA + routed experts 14."""
    from servecost.roofline import DENSE_LAYER_KERNELS, kernels_per_layer, layer_cost_s
    llama, ds, oss = models.get("llama-3.1-8b"), models.get("deepseek-v3"), models.get("gpt-oss-120b")
    assert kernels_per_layer(llama) == DENSE_LAYER_KERNELS == 10
    assert kernels_per_layer(oss) == 14
    assert kernels_per_layer(ds) == pytest.approx((3 * (10 + 3) + 58 * (10 + 7 + 3)) / 61 + 2)
    eff = replace(ideal, layer_overhead_s=50e-6)
    assert float(layer_cost_s(llama, eff)) == pytest.approx(32 * 50e-6)
    assert float(layer_cost_s(ds, eff)) == pytest.approx(61 * 50e-6 * kernels_per_layer(ds) / 10)


def test_attention_dp_expert_layers_pay_the_dispatch_pair_and_tensor_parallel_ones_do_not(ideal):
    """With attention data-parallel and experts spread (dp 8, ep 8) every MoE layer of the stage pays
    the dispatch + combine pair's fixed time once; tensor-parallel attention (tp 8, ep 8) all-reduces
    and pays none of it; a dense model has no MoE layer to pay it."""
    from servecost.roofline import comm_s
    ds, h200, pair_s = models.get("deepseek-v3"), hardware.get("h200-sxm"), 20e-6
    with_pair = replace(ideal, ep_dispatch_s=pair_s)
    dp = Parallel(tp=1, dp_attn=8, ep=8)
    extra = comm_s(ds, h200, dp, BF16, 64, with_pair) - comm_s(ds, h200, dp, BF16, 64, ideal)
    assert float(extra) == pytest.approx(ds.n_moe_layers * pair_s, rel=1e-9)
    tp = Parallel(tp=8, ep=8)
    assert float(comm_s(ds, h200, tp, BF16, 64, with_pair)) == float(comm_s(ds, h200, tp, BF16, 64, ideal))
    llama = models.get("llama-3.1-70b")
    dense = Parallel(tp=1, dp_attn=8)
    assert float(comm_s(llama, h200, dense, BF16, 64, with_pair)) == float(comm_s(llama, h200, dense, BF16, 64, ideal))
