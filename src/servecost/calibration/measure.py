"""`servecost measure`: a one-minute microbenchmark of the local accelerator that writes a profile.

It times (1) a device-to-device copy (bytes/s), (2) square GEMMs per dtype (FLOP/s), (3) attention
alone: a prompt over itself (FLOP/s), one query per sequence over a cache at batch 1 (bytes/s per
(sequence, KV head) stream) and over a tiny cache at many sequences (time per work item), (4)
routed-expert weights streamed by a batched GEMM of a few rows per expert against a dense GEMM of
the same bytes, and (5) a decode step and (6) a prefill of a Llama-shaped stack of layers with
random weights. With PyTorch installed (`pip install servecost[gpu]`) it runs on the GPU, or on the
CPU when none is present; without PyTorch it runs the same kernels in numpy on the CPU. Against a
catalogue chip (--hardware) the copy, GEMM and prefill-attention rates become mem_bw_frac,
gemm_flops_frac and attn_flops_frac, the batch-1 decode attention kv_stream_bytes_per_s, the time
per (sequence, KV head) at many sequences over a tiny cache decode_attn_item_s, the expert stream's
share expert_mem_bw_frac, and the decode step left over
after those fixes the per-layer overhead: a profile that --profile applies.
"""

import math
import statistics
import time
from dataclasses import dataclass, replace

import numpy as np

from ..efficiency import Efficiency
from ..errors import InputError
from ..hardware import Accelerator
from ..models import ModelSpec
from ..parallel import Parallel
from ..roofline import Precision, decode_step_s, prefill_s


@dataclass
class Backend:
    """The few array operations the benchmark needs, on torch or numpy."""
    name: str
    device: str
    xp: object
    dtypes: dict          # "bf16" -> backend dtype, for those the device runs

    def randn(self, shape, dtype: str):
        if self.name == "torch":
            return self.xp.randn(*shape, device=self.device, dtype=self.dtypes[dtype]) * 0.02
        # uniform with the standard deviation 0.02 of torch's branch: 2.5x faster to draw than a normal
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        x -= 0.5
        x *= 0.02 * np.sqrt(12)
        return x.astype(self.dtypes[dtype], copy=False)

    def sync(self):
        if self.name == "torch" and self.device == "cuda":
            self.xp.cuda.synchronize()

    def copy(self, dst, src):
        if self.name == "torch":
            dst.copy_(src)
        else:
            np.copyto(dst, src)

    def softmax(self, x):
        if self.name == "torch":
            return self.xp.softmax(x.float(), dim=-1).to(x.dtype)
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    @property
    def on_gpu(self) -> bool:
        return self.device == "cuda"


def backend(prefer: str = "auto") -> Backend:
    """torch (cuda, else cpu) when importable and not refused, else numpy."""
    if prefer in ("auto", "torch"):
        try:
            import torch
        except ImportError:
            if prefer == "torch":
                raise InputError("backend=torch: PyTorch is not installed; pip install 'servecost[gpu]'") from None
        else:
            device = "cuda" if torch.cuda.is_available() else "cpu"
            dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
            return Backend("torch", device, torch, dtypes)
    return Backend("numpy", "cpu", np, {"fp32": np.float32})   # numpy has no fast half-precision GEMM


def _time_s(fn, be: Backend, budget_s: float, min_reps: int = 3, deadline: float = math.inf) -> float:
    """Median seconds of fn() over repeats filling `budget_s` (after one warm-up); past `deadline`
    (perf_counter) one timed call, without the warm-up, so that the whole benchmark keeps its budget."""
    if time.perf_counter() < deadline:      # the budget spent: the first call is the one timed
        fn()
        be.sync()
    times, start = [], time.perf_counter()
    while not times or (time.perf_counter() < deadline
                        and (len(times) < min_reps or time.perf_counter() - start < budget_s)):
        t0 = time.perf_counter()
        fn()
        be.sync()
        times.append(time.perf_counter() - t0)
        if len(times) >= 200:
            break
    return statistics.median(times)


def copy_bytes_per_s(be: Backend, n_bytes: float, budget_s: float, deadline: float = math.inf) -> float:
    """Copy bandwidth: each copy reads and writes n_bytes."""
    n = int(n_bytes // 4)
    src, dst = be.randn((n,), "fp32"), be.randn((n,), "fp32")
    return 2 * n * 4 / _time_s(lambda: be.copy(dst, src), be, budget_s, deadline=deadline)


def gemm_flops_per_s(be: Backend, size: int, dtype: str, budget_s: float, deadline: float = math.inf) -> float:
    """Square GEMM throughput: 2 n^3 FLOPs per product."""
    a, b = be.randn((size, size), dtype), be.randn((size, size), dtype)
    return 2 * size**3 / _time_s(lambda: a @ b, be, budget_s, deadline=deadline)


def _attention(be: Backend, q, k, v, hd: int):
    """softmax(q k^T / sqrt(hd)) v over the last two axes (the attention of `_layer` and of attention_rates)."""
    return be.softmax((q @ (k.transpose(0, 1, 3, 2) if be.name == "numpy" else k.transpose(-1, -2))) / np.sqrt(hd)) @ v


def attention_rates(be: Backend, m: ModelSpec, prompt_tokens: int, context: int, dtype: str, budget_s: float,
                    deadline: float = math.inf, item_batch: int = 64) -> dict:
    """Attention alone, one layer's heads: a prompt of `prompt_tokens` over itself (FLOP/s, all query-key
    pairs: the stand-in does not skip the causal half), one query per KV-head group over `context`
    cached keys at batch 1 (bytes/s of K and V read, per KV head: one stream each), and the time per
    (sequence, KV head) work item at `item_batch` sequences (work_item_s)."""
    H, KV, hd = m.n_heads, m.n_kv_heads, m.head_dim
    q = be.randn((1, KV, prompt_tokens * (H // KV), hd), dtype)
    k, v = be.randn((1, KV, prompt_tokens, hd), dtype), be.randn((1, KV, prompt_tokens, hd), dtype)
    prefill_s = _time_s(lambda: _attention(be, q, k, v, hd), be, budget_s, deadline=deadline)
    qd = be.randn((1, KV, H // KV, hd), dtype)
    kc, vc = be.randn((1, KV, context, hd), dtype), be.randn((1, KV, context, hd), dtype)
    decode_s = _time_s(lambda: _attention(be, qd, kc, vc, hd), be, budget_s, deadline=deadline)
    itemsize = kc.dtype.itemsize if be.name == "numpy" else kc.element_size()
    kv_bytes = 2 * KV * context * hd * itemsize
    return {"prompt_tokens": prompt_tokens, "context": context,
            "prefill_flops_per_s": 2 * 2 * H * prompt_tokens**2 * hd / prefill_s,
            "decode_bytes_per_s_per_kv_head": kv_bytes / decode_s / KV,
            **work_item_s(be, m, item_batch, dtype, budget_s, deadline)}


ITEM_CONTEXT = 16   # keys per sequence in the work-item timing: one block, next to no bytes


def work_item_s(be: Backend, m: ModelSpec, batch: int, dtype: str, budget_s: float, deadline: float = math.inf) -> dict:
    """Decode attention's time per (sequence, KV head) work item: one query per KV-head group over a
    cache of ITEM_CONTEXT keys, at `batch` sequences against one; the difference over the added items
    (the bytes they read are a few kB) is what a thread block's setup and softmax merge cost."""
    H, KV, hd = m.n_heads, m.n_kv_heads, m.head_dim

    def timed(b):
        q = be.randn((b, KV, H // KV, hd), dtype)
        k, v = be.randn((b, KV, ITEM_CONTEXT, hd), dtype), be.randn((b, KV, ITEM_CONTEXT, hd), dtype)
        return _time_s(lambda: _attention(be, q, k, v, hd), be, budget_s / 2, deadline=deadline)

    one_s, many_s = timed(1), timed(batch)
    return {"item_batch": batch, "item_context": ITEM_CONTEXT,
            "decode_item_s": max(many_s - one_s, 0.0) / ((batch - 1) * KV)}


def expert_stream_frac(be: Backend, d_model: int, expert_ffn: int, n_experts: int, rows: int, dtype: str,
                       budget_s: float, deadline: float = math.inf) -> dict:
    """Routed-expert weights streamed at a few rows each: one batched GEMM over `n_experts` expert
    matrices (d x f, `rows` tokens each, what a grouped GEMM runs at decode) against one dense GEMM that
    reads the same bytes ((rows, d) @ (d, n f)); the ratio of their times is expert_mem_bw_frac."""
    w_experts = be.randn((n_experts, d_model, expert_ffn), dtype)
    x_experts = be.randn((n_experts, rows, d_model), dtype)
    w_dense, x_dense = be.randn((d_model, n_experts * expert_ffn), dtype), be.randn((rows, d_model), dtype)
    grouped_s = _time_s(lambda: x_experts @ w_experts, be, budget_s, deadline=deadline)
    dense_s = _time_s(lambda: x_dense @ w_dense, be, budget_s, deadline=deadline)
    return {"experts": n_experts, "rows": rows, "d_model": d_model, "expert_ffn": expert_ffn,
            "grouped_s": grouped_s, "dense_s": dense_s, "stream_frac": dense_s / grouped_s}


def _layer_weights(be: Backend, m: ModelSpec, dtype: str) -> dict:
    d, hd = m.d_model, m.head_dim
    return {"qkv": be.randn((d, (m.n_heads + 2 * m.n_kv_heads) * hd), dtype),
            "o": be.randn((m.n_heads * hd, d), dtype),
            "gate_up": be.randn((d, 2 * m.dense_ffn_dim), dtype), "down": be.randn((m.dense_ffn_dim, d), dtype)}


def _layer(be: Backend, m: ModelSpec, w: dict, x, k, v):
    """One Llama layer (norms and rotary left out): qkv, grouped-query attention over the cache, o, SwiGLU.
    A timing stand-in: shapes and FLOPs are a real layer's, the head layout after attention is not kept."""
    B, T, _ = x.shape
    H, KV, hd = m.n_heads, m.n_kv_heads, m.head_dim
    qkv = _mm(x, w["qkv"])
    q = qkv[..., : H * hd].reshape(B, T, KV, H // KV, hd)
    q = q.transpose(0, 2, 1, 3, 4) if be.name == "numpy" else q.permute(0, 2, 1, 3, 4)
    q = q.reshape(B, KV, T * (H // KV), hd)
    attn = _attention(be, q, k, v, hd)                                 # (B, KV, T*G, hd)
    x = x + _mm(attn.reshape(B, T, H * hd), w["o"])
    gate_up = _mm(x, w["gate_up"])
    f = m.dense_ffn_dim
    gate, up = gate_up[..., :f], gate_up[..., f:]
    silu = gate / (1 + (np.exp(-gate) if be.name == "numpy" else be.xp.exp(-gate)))
    return x + _mm(silu * up, w["down"])


def _mm(x, w):
    """x (B, T, d) @ w (d, n) as one (B T, d) GEMM: numpy would loop over B and read w B times."""
    return (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[-1])


def stack_step_s(be: Backend, m: ModelSpec, batch: int, new_tokens: int, context: int, dtype: str,
                 budget_s: float, deadline: float = math.inf, weights: list | None = None) -> float:
    """Seconds for `m.n_layers` Llama layers to process `new_tokens` per sequence over `context` cached keys."""
    weights = weights or [_layer_weights(be, m, dtype) for _ in range(m.n_layers)]
    x = be.randn((batch, new_tokens, m.d_model), dtype)
    k = be.randn((batch, m.n_kv_heads, context, m.head_dim), dtype)
    v = be.randn((batch, m.n_kv_heads, context, m.head_dim), dtype)

    def run():
        y = x
        for w in weights:
            y = _layer(be, m, w, y, k, v)
        return y

    return _time_s(run, be, budget_s, deadline=deadline)


def llama_stack(m: ModelSpec, layers: int) -> ModelSpec:
    """`m` cut to `layers` full-attention dense layers, no vocabulary: what stack_step_s runs."""
    if m.is_moe or m.attention != "gqa" or m.n_window_layers or m.n_linear_layers:
        raise InputError(f"model={m.id}: measure runs dense GQA (Llama-shaped) models; try llama-3.1-8b")
    return replace(m, n_layers=layers, n_full_layers=layers, n_dense_layers=layers, vocab_size=0)


@dataclass
class Settings:
    copy_bytes: float
    gemm_size: int
    layers: int
    batch: int
    context: int
    prefill_tokens: int
    budget_s: float
    seconds: float = math.inf          # the whole benchmark's budget: later steps take one repeat once it is spent
    experts: int = 8                   # routed experts the grouped-GEMM timing streams
    item_batch: int = 64               # sequences of the decode-attention work-item timing

    @classmethod
    def for_backend(cls, be: Backend, seconds: float) -> "Settings":
        if be.on_gpu:
            return cls(2**30, 8192, 8, 64, 2048, 2048, seconds / 9, seconds, experts=64, item_batch=1024)
        # the CPU: one layer (a Llama-8B layer's weights are 0.9 GB of fp32), a short prefill
        return cls(2**26, 1024, 1, 8, 512, 128, seconds / 9, seconds, experts=8, item_batch=64)


def run(m: ModelSpec, be: Backend, s: Settings, dtype: str) -> dict:
    """Raw measurements: copy bandwidth, GEMM rate per dtype, decode step and prefill of the stack."""
    stack = llama_stack(m, s.layers)
    end = time.perf_counter() + s.seconds
    weights = [_layer_weights(be, stack, dtype) for _ in range(stack.n_layers)]   # decode and prefill share them
    gemm = {dt: gemm_flops_per_s(be, s.gemm_size, dt, s.budget_s, end) for dt in be.dtypes}
    return {"backend": be.name, "device": be.device, "dtype": dtype, "model": m.id, "layers": s.layers,
            "copy_bytes_per_s": copy_bytes_per_s(be, s.copy_bytes, s.budget_s, end),
            "gemm_flops_per_s": gemm,
            "attention": attention_rates(be, stack, s.prefill_tokens, s.context, dtype, s.budget_s, end,
                                         s.item_batch),
            # fine-grained experts of the model's width (an eighth of its FFN, as DeepSeek's and Qwen3's are)
            "experts": expert_stream_frac(be, stack.d_model, max(stack.dense_ffn_dim // 8, 1), s.experts, 4, dtype,
                                          s.budget_s, end),
            "decode": {"batch": s.batch, "context": s.context,
                       "step_s": stack_step_s(be, stack, s.batch, 1, s.context, dtype, s.budget_s, end, weights)},
            "prefill": {"tokens": s.prefill_tokens,
                        "time_s": stack_step_s(be, stack, 1, s.prefill_tokens, s.prefill_tokens, dtype, s.budget_s,
                                               end, weights)}}


def fit_factors(measured: dict, m: ModelSpec, hw: Accelerator, base: Efficiency) -> Efficiency:
    """Efficiency of `hw` from the measurements: bandwidth and GEMM fractions of the catalogue peaks,
    then the per-layer overhead that closes the gap between predicted and measured decode step."""
    dtype = measured["dtype"]
    gemm = measured["gemm_flops_per_s"].get("bf16", max(measured["gemm_flops_per_s"].values()))
    eff = replace(base, mem_bw_frac=float(np.clip(measured["copy_bytes_per_s"] / hw.mem_bytes_per_s, 1e-4, 1.0)),
                  gemm_flops_frac=float(np.clip(gemm / hw.matmul_flops_per_s("bf16"), 1e-4, 1.0)),
                  layer_overhead_s=1e-9, step_overhead_s=1e-9, seq_overhead_s=1e-9)
    attn = measured.get("attention")
    if attn:
        eff = replace(eff, attn_flops_frac=float(np.clip(attn["prefill_flops_per_s"] / hw.flops_per_s(dtype), 1e-4, 1.0)),
                      kv_stream_bytes_per_s=float(attn["decode_bytes_per_s_per_kv_head"]))
        if "decode_item_s" in attn:
            eff = replace(eff, decode_attn_item_s=float(attn["decode_item_s"]))
    experts = measured.get("experts")
    if experts:
        eff = replace(eff, expert_mem_bw_frac=float(np.clip(experts["stream_frac"], 1e-4, 1.0)))
    stack, prec = llama_stack(m, measured["layers"]), Precision(weight=dtype, expert=dtype, kv=dtype)
    dec = measured["decode"]
    predicted = float(decode_step_s(stack, hw, Parallel(), prec, dec["batch"], dec["context"], eff))
    per_layer = max(dec["step_s"] - predicted, 0.0) / stack.n_layers
    return replace(eff, layer_overhead_s=max(per_layer, 1e-9))


def predict_errors(measured: dict, m: ModelSpec, hw: Accelerator, effs: dict[str, Efficiency]) -> dict:
    """Relative error of the predicted decode step and prefill against the measurement, per profile."""
    dtype = measured["dtype"]
    stack, prec = llama_stack(m, measured["layers"]), Precision(weight=dtype, expert=dtype, kv=dtype)
    dec, pre = measured["decode"], measured["prefill"]
    out = {}
    for name, eff in effs.items():
        eff0 = replace(eff, step_overhead_s=0.0, seq_overhead_s=0.0)   # device time: no serving engine around the kernels
        d = float(decode_step_s(stack, hw, Parallel(), prec, dec["batch"], dec["context"], eff0))
        p = float(prefill_s(stack, hw, Parallel(), prec, 1, pre["tokens"], eff0))
        out[name] = {"decode_error": d / dec["step_s"] - 1, "prefill_error": p / pre["time_s"] - 1}
    return out
