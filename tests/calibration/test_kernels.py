"""Kernel-level check: measured matmul kernel times against the engine's matmul roofline."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from servecost import hardware, models
from servecost.calibration import kernels
from servecost.dtypes import bytes_per_element
from servecost.errors import InputError
from servecost.profiles import shipped
from servecost.roofline import DENSE_LAYER_KERNELS

TABLE = Path(__file__).parents[1] / "data" / "kernel_timings.csv"
ATTENTION = Path(__file__).parents[1] / "data" / "decode_attention_timings.csv"


@pytest.fixture(scope="module")
def rows():
    return kernels.read(TABLE)


def test_every_row_is_a_sourced_matmul_of_a_catalogue_model(rows):
    assert len(rows) >= 608
    assert {"llama-2-7b", "llama-2-70b"} <= {r.model for r in rows}
    assert {r.tp for r in rows} == {1, 2, 4, 8}
    for r in rows:
        assert r.source.startswith("https://github.com/microsoft/vidur/blob/") and r.op in kernels.OPS
        assert r.d_model and r.n_heads % r.n_kv_heads == 0


def test_a_decode_matmul_is_its_weights_at_the_memory_share_plus_its_share_of_the_layer_cost():
    eff = shipped().default
    m, hw = models.get("llama-2-70b"), hardware.get("h100-sxm")
    row = kernels.KernelRow("h100-sxm", "llama-2-70b", "fp16", 1, 1, "gate_up", 3e-4, "")
    weights = m.d_model * 2 * m.dense_ffn_dim * 2
    stream_s = weights / (hw.mem_bytes_per_s * eff.mem_bw_frac)
    assert kernels.predict_s(row, eff) == pytest.approx(stream_s + eff.layer_overhead_s / DENSE_LAYER_KERNELS,
                                                        rel=1e-3)


def test_a_layer_given_by_its_shape_is_predicted_as_the_catalogue_model_of_that_shape():
    m = models.get("llama-2-70b")
    named = kernels.KernelRow("h100-sxm", "llama-2-70b", "fp16", 2, 64, "qkv", 1e-4, "")
    shaped = kernels.KernelRow("h100-sxm", "my-70b", "fp16", 2, 64, "qkv", 1e-4, "", m.d_model, m.n_heads,
                               m.n_kv_heads, m.head_dim, m.dense_ffn_dim)
    assert kernels.predict_s(shaped) == kernels.predict_s(named)
    ungated = replace(shaped, op="gate_up", gated=False)
    assert kernels.shape(ungated)[1] * 2 == kernels.shape(replace(shaped, op="gate_up"))[1]


def test_tensor_parallel_splits_the_weight_but_not_the_fixed_share():
    eff = replace(shipped().default, layer_overhead_s=0.0)
    one, eight = (kernels.predict_s(kernels.KernelRow("h100-sxm", "llama-2-70b", "fp16", tp, 1, "down", 1e-4, ""), eff)
                  for tp in (1, 8))
    assert one / eight == pytest.approx(8, rel=0.01)


def test_the_shipped_engine_predicts_the_measured_kernels(rows):
    err = np.abs(kernels.errors(rows))
    assert np.median(err) < 0.10      # README: 6.9% median, p90 21%


def test_a_layer_step_sums_its_four_matmuls_and_leaves_out_incomplete_steps(rows):
    one = [r for r in rows if r.model == "llama-2-70b" and r.tp == 2 and r.tokens == 64]
    assert len(one) == 4
    step, = kernels.layer_steps(one)
    assert step.measured_s == pytest.approx(sum(r.measured_s for r in one))
    assert step.predicted_s == pytest.approx(sum(kernels.predict_s(r) for r in one))
    assert kernels.layer_steps(one[:3]) == []


def test_the_shipped_engine_predicts_the_measured_layer_steps(rows):
    q = np.array([s.predicted_s / s.measured_s for s in kernels.layer_steps(rows)])
    assert len(q) == len(rows) // 4
    assert np.median(np.abs(q - 1)) < 0.07      # README: 4.6% median, p90 12%


@pytest.mark.parametrize("text, says", [
    ("hardware,model,dtype,tp,tokens,op,source\nh100-sxm,llama-2-7b,fp16,1,1,qkv,x\n", "column 'measured_s'"),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source\nh100-sxm,llama-2-7b,fp16,1,1,qkv,fast,x\n", "line 2"),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source\nh100-sxm,llama-2-7b,fp16,1,1,attn,1e-4,x\n", "op='attn'"),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source\nh100-sxm,llama-2-7b,fp16,1,1,qkv,0,x\n", "measured_s=0.0"),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source\nh900,llama-2-7b,fp16,1,1,qkv,1e-4,x\n", "hardware='h900'"),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source\nh100-sxm,llama-2-7b,fp17,1,1,qkv,1e-4,x\n", "line 2: "),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source,d_model,n_heads,n_kv_heads,head_dim,ffn_dim\n"
     "h100-sxm,mine,fp16,1,1,qkv,1e-4,x,4096,32,5,128,11008\n", "n_kv_heads=5"),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source,d_model\nh100-sxm,mine,fp16,1,1,qkv,1e-4,x,4096\n",
     "give all of d_model"),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source\nh100-sxm,llama-2-7b,fp16,two,1,qkv,1e-4,x\n",
     "tp='two' is not a whole number"),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source\nh100-sxm,llama-2-7b,fp16,1\n", "no cell for tokens"),
    ("hardware,model,dtype,tp,tokens,op,measured_s,source\n", "no kernel rows"),
])
def test_a_bad_kernel_table_gets_one_line_naming_the_field(tmp_path, text, says):
    path = tmp_path / "k.csv"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        kernels.read(path)
    assert says in str(exc.value) and "\n" not in str(exc.value)


def test_a_missing_kernel_table_gets_one_line(tmp_path):
    with pytest.raises(InputError) as exc:
        kernels.read(tmp_path / "absent.csv")
    assert "cannot read a kernel table (FileNotFoundError)" in str(exc.value) and "\n" not in str(exc.value)


def test_decode_attention_rows_are_sourced_and_read_the_cache_they_state():
    rows = kernels.read_attention(ATTENTION)
    assert len(rows) >= 100 and {r.hardware for r in rows} == {"h200-sxm", "b200"}
    assert all(r.source.startswith("https://github.com/ai-dynamo/aiconfigurator/blob/") for r in rows)
    r = kernels.AttentionRow("b200", "x", 2, 1024, 32, 8, 128, "fp8", 1e-5, "")
    assert r.kv_bytes == 2 * 1024 * 2 * 8 * 128 * 1 and r.streams == 16


def test_a_long_context_decode_attention_is_its_cache_at_the_streaming_rate():
    eff = replace(shipped().default, kv_stream_bytes_per_s=1e15)
    hw = hardware.get("b200")
    r = kernels.AttentionRow("b200", "x", 128, 8192, 1, 1, 256, "bf16", 1.6e-4, "")
    stream_s = r.kv_bytes / (hw.mem_bytes_per_s * eff.mem_bw_frac)
    call_s = kernels.ATTENTION_CALL_KERNELS * eff.layer_overhead_s / DENSE_LAYER_KERNELS   # cache write + attention
    assert kernels.predict_attention_s(r, eff) == pytest.approx(stream_s + call_s, rel=0.02)
    assert kernels.predict_attention_s(r, eff) / r.measured_s == pytest.approx(1.0, abs=0.1)   # measured 156 us


def test_each_decode_attention_work_item_adds_its_own_time():
    """t_item per (sequence, KV head): 2,048 sequences x 8 KV heads over 4 keys is mostly item time."""
    eff = replace(shipped().default, kv_stream_bytes_per_s=1e15)
    r = kernels.AttentionRow("b200", "x", 2048, 4, 64, 8, 128, "bf16", 1.65e-4, "")
    slower = replace(eff, decode_attn_item_s=eff.decode_attn_item_s + 10e-9)
    assert kernels.predict_attention_s(r, slower) - kernels.predict_attention_s(r, eff) == pytest.approx(
        r.streams * 10e-9, rel=1e-6)


@pytest.mark.parametrize("text, says", [
    ("hardware,kernel,batch,context_tokens,n_heads,n_kv_heads,head_dim,kv_dtype,source\nb200,k,1,1,8,8,128,bf16,x\n",
     "column 'measured_s'"),
    ("hardware,kernel,batch,context_tokens,n_heads,n_kv_heads,head_dim,kv_dtype,measured_s,source\n"
     "b200,k,1,1,8,3,128,bf16,1e-5,x\n", "n_kv_heads=3"),
    ("hardware,kernel,batch,context_tokens,n_heads,n_kv_heads,head_dim,kv_dtype,measured_s,source\n"
     "b200,k,many,1,8,8,128,bf16,1e-5,x\n", "batch='many' is not a whole number"),
    ("hardware,kernel,batch,context_tokens,n_heads,n_kv_heads,head_dim,kv_dtype,measured_s,source\n", "no decode-attention rows"),
])
def test_a_bad_decode_attention_table_gets_one_line_naming_the_field(tmp_path, text, says):
    path = tmp_path / "a.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=says):
        kernels.read_attention(path)


MOE = Path(__file__).parents[1] / "data" / "moe_kernel_timings.csv"
MOE_HEADER = ",".join(kernels.MOE_COLUMNS) + "\n"


def test_moe_rows_are_sourced_balanced_and_on_both_gpus():
    rows = kernels.read_moe(MOE)
    assert len(rows) >= 500 and {r.hardware for r in rows} == {"h200-sxm", "b200"}
    assert all(r.source.startswith("https://github.com/ai-dynamo/aiconfigurator/blob/") for r in rows)
    assert {r.distribution for r in rows} == {"balanced"}
    assert {"vllm_fused_moe", "vllm_marlin_int4_moe"} <= {r.kernel for r in rows}


def test_a_many_token_moe_is_its_math_at_the_expert_gemm_share():
    """16k tokens through DeepSeek-sized experts in bf16: the FLOPs of T k / ep assignments over 3 d F /
    tp weights each, at the expert share of the GEMM rate, plus the call's five kernels."""
    eff = replace(shipped().default, expert_gemm_frac=0.4)
    r = kernels.MoeRow("h200-sxm", "x", "bfloat16", 16384, 7168, 2048, 8, 256, 1, 8, "balanced", 0.01, "")
    flops = 2 * (16384 * 8 / 8) * 3 * 7168 * 2048
    math_s = flops / (hardware.get("h200-sxm").bf16_flops_per_s * eff.gemm_flops_frac * 0.4)
    fixed_s = kernels.MOE_CALL_KERNELS * eff.layer_overhead_s / DENSE_LAYER_KERNELS
    assert 1.0 < (kernels.predict_moe_s(r, eff) - fixed_s) / math_s < 1.1   # the weights' traffic overlaps it


def test_a_one_token_moe_streams_the_k_experts_it_wakes_and_weight_only_modes_multiply_in_bf16():
    r = kernels.MoeRow("h200-sxm", "x", "int4_wo", 1, 4096, 1536, 8, 128, 1, 1, "balanced", 1e-4, "")
    flops, bytes_ = kernels.moe_work(r)
    assert bytes_ == pytest.approx(8 * 3 * 4096 * 1536 * bytes_per_element("int4"), rel=0.01)   # 8 experts woken
    assert r.compute_dtype == "bf16" and r.weight_dtype == "int4"
    fp4 = kernels.MoeRow("b200", "x", "nvfp4", 1, 4096, 1536, 8, 128, 1, 1, "balanced", 1e-4, "")
    assert fp4.compute_dtype == "nvfp4"


@pytest.mark.parametrize("text, says", [
    (MOE_HEADER.replace(",measured_s", "") + "b200,k,fp8,1,4096,1536,8,128,1,1,balanced,x\n", "column 'measured_s'"),
    (MOE_HEADER + "b200,k,fp7,1,4096,1536,8,128,1,1,balanced,1e-5,x\n", "moe_dtype='fp7'"),
    (MOE_HEADER + "b200,k,fp8,1,4096,1536,8,128,1,3,balanced,1e-5,x\n", "moe_ep dividing num_experts"),
    (MOE_HEADER + "b200,k,fp8,few,4096,1536,8,128,1,1,balanced,1e-5,x\n", "tokens='few' is not a whole number"),
    (MOE_HEADER, "no MoE kernel rows"),
])
def test_a_bad_moe_table_gets_one_line_naming_the_field(tmp_path, text, says):
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=says):
        kernels.read_moe(path)


GEMM = Path(__file__).parents[1] / "data" / "gemm_kernel_timings.csv"


def test_gemm_rows_are_sourced_b200_gemms_in_bf16_and_nvfp4():
    rows = kernels.read_gemm(GEMM)
    assert len(rows) == 53 and {r.hardware for r in rows} == {"b200"}
    assert {r.gemm_dtype for r in rows} == {"bfloat16", "nvfp4"}
    assert all(r.source.startswith("https://github.com/ai-dynamo/aiconfigurator/blob/") for r in rows)


def test_a_large_gemm_is_its_math_and_an_nvfp4_call_quantises_its_activations_first():
    eff = shipped().get(None, "b200")
    hw = hardware.get("b200")
    big = kernels.GemmRow("b200", "x", "bfloat16", 16384, 3584, 65536, 4.57e-3, "")
    math_s = 2 * 16384 * 3584 * 65536 / (hw.matmul_flops_per_s("bf16") * eff.gemm_flops_frac)
    assert kernels.predict_gemm_s(big, eff) == pytest.approx(math_s, rel=0.05)
    tiny = {d: kernels.predict_gemm_s(kernels.GemmRow("b200", "x", d, 1, 256, 512, 6e-6, ""), eff)
            for d in ("bfloat16", "nvfp4")}
    assert tiny["nvfp4"] - tiny["bfloat16"] == pytest.approx(eff.layer_overhead_s / DENSE_LAYER_KERNELS, rel=0.05)


def test_a_bad_gemm_table_gets_one_line_naming_the_field(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("hardware,kernel,gemm_dtype,m,n,k,measured_s,source\nb200,k,fp8,1,-4,8,1e-5,x\n")
    with pytest.raises(InputError, match="m, n, k: give whole numbers"):
        kernels.read_gemm(path)


MLA = Path(__file__).parents[1] / "data" / "mla_module_timings.csv"


def test_mla_rows_are_sourced_deepseek_modules_on_both_gpus():
    rows = kernels.read_mla(MLA)
    assert len(rows) == 200 and {r.hardware for r in rows} == {"h200-sxm", "b200"}
    assert {r.model for r in rows} == {"deepseek-v3"} and all(128 % r.heads == 0 for r in rows)
    assert all(r.source.startswith("https://github.com/ai-dynamo/aiconfigurator/blob/") for r in rows)


def test_an_mla_module_at_long_context_is_its_latent_cache_and_fewer_heads_mean_more_tensor_parallelism():
    eff = replace(shipped().get(None, "h200-sxm"), kv_stream_bytes_per_s=1e15)
    long = kernels.MlaRow("h200-sxm", "deepseek-v3", "bfloat16", "bfloat16", 128, 64, 65536, 1e-3, "")
    cache_s = 64 * 65536 * 576 * 2 / (hardware.get("h200-sxm").mem_bytes_per_s * eff.mem_bw_frac)
    assert kernels.predict_mla_s(long, eff) >= cache_s   # the latent cache (512 + 64 dims) read once per layer
    few = replace(long, heads=16, context_tokens=4)
    assert kernels.predict_mla_s(few, eff) < kernels.predict_mla_s(replace(few, heads=128), eff)


@pytest.mark.parametrize("row, says", [
    ("h200-sxm,llama-3.1-8b,bfloat16,bfloat16,8,1,4,1e-4,x", "has gqa attention"),
    ("h200-sxm,deepseek-v3,bfloat16,bfloat16,3,1,4,1e-4,x", "heads=3: give a divisor"),
    ("h200-sxm,deepseek-v3,fp9,bfloat16,8,1,4,1e-4,x", "kv_cache_dtype='fp9'"),
])
def test_a_bad_mla_table_gets_one_line_naming_the_field(tmp_path, row, says):
    path = tmp_path / "m.csv"
    path.write_text(",".join(kernels.MLA_COLUMNS) + "\n" + row + "\n")
    with pytest.raises(InputError, match=says):
        kernels.read_mla(path)
