"""Measured kernel times of one decoder layer's weight matmuls against the engine's matmul roofline.

A kernel table (tests/data/kernel_timings.csv: a published profile, its URL and commit) gives, per
GPU, layer shape, tensor-parallel size and tokens in the step (M), the device time of each weight
matmul of a dense decoder layer on one GPU:
    qkv      x[M, d] @ W[d, (h + 2 h_kv) d_h / tp]
    o        x[M, h d_h / tp] @ W[h d_h / tp, d]
    gate_up  x[M, d] @ W[d, 2 F / tp]          (gated FFN; F / tp wide when not gated)
    down     x[M, F / tp] @ W[F / tp, d]
The shape (d, h, h_kv, d_h, F, gated) is the row's own columns, or the catalogue model's where they
are blank.
Each is predicted as the engine times its dense matmuls (roofline.matmul_s), with the profile's GEMM
and memory shares, plus the kernel's share of the engine's per-layer cost t_layer:
    t = ||(2 M K N / (C_peak f_gemm), (K N w + M (K + N) a) / (W f_mem))||_p + t_layer / n_k
t_layer is device time (a kernel's fill and drain: a memory-bound matmul of a few MB runs 4-6 us
over its bytes at the streaming rate, in the measured tables), spread over the n_k = 10 kernels of
a dense decoder layer as vLLM runs it (vllm/model_executor/models/llama.py: two fused add-RMSNorms,
QKV, rotary, KV-cache write, attention, O, gate-up, SiLU-and-mul, down).
M <= 256 are decode-sized steps (the weights stream), larger ones prefill-sized (the math binds).

A decode-attention table (tests/data/decode_attention_timings.csv) gives the device time of one
layer's decode attention over a paged KV cache: `batch` sequences, one new token each, attending
`context_tokens` keys with n_heads query and n_kv_heads KV heads of head_dim. Each is predicted as
the engine times decode attention (roofline.decode_attention_s) plus its kernel's share of t_layer:
    bytes = B S 2 h_kv d_h b_kv,  FLOPs = 2 B S h 2 d_h,  streams = B h_kv

A GEMM table (tests/data/gemm_kernel_timings.csv) gives the device time of one GEMM x[m, k] @ W[k, n]
in a quant mode, predicted as the engine times a weight matmul (as above, the call's kernels' shares
of t_layer: the GEMM, and the activations' quantisation for NVFP4).

An MLA module table (tests/data/mla_module_timings.csv) gives the decode time of one layer's whole
attention module of an MLA model (projections, norms, rotary, cache write, absorbed attention, output
projection) with `heads` query heads on the GPU, predicted as the engine times that layer's attention
at tensor-parallel heads / n_heads: its weights (roofline.matmul_s), its decode attention
(roofline.step_work and decode_attention_s, MLA's query rows padded to the tile) and its kernels'
shares of t_layer (ATTENTION_KERNELS["mla"]).

A MoE table (tests/data/moe_kernel_timings.csv) gives the device time of one layer's routed experts
on one GPU (vLLM's fused_experts and its Marlin and FlashInfer variants, router outside): T tokens,
each sent to k of E experts, the GPU holding E / ep of them, each expert's FFN width F split tp ways,
tokens spread evenly over the experts. Each is predicted as the engine times its routed experts
(roofline.step_work and compute_s): the experts the tokens wake (E (1 - (1 - k/E)^T), the GPU's
share of them) streamed at the expert share of the memory rate, their math at the expert share of
the GEMM rate, plus the call's kernels' shares of t_layer:
    FLOPs = 2 (T k / ep) 3 d F / tp,   weight bytes = woken / ep 3 d F / tp w
"""

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import hardware, models
from .. import params as P
from ..dtypes import bytes_per_element, canonical
from ..efficiency import Efficiency
from ..errors import InputError
from ..models import ModelSpec
from ..profiles import shipped
from ..parallel import Parallel
from ..roofline import (ATTENTION_KERNELS, FLOPS_PER_MAC, Precision, decode_attention_s, distinct_experts,
                        kernel_cost_s, matmul_s, step_work)
from .cells import AIC_QUANT

OPS = ("qkv", "o", "gate_up", "down")
DECODE_MAX_TOKENS = 256     # steps of at most this many tokens count as decode-sized
SHAPE_COLUMNS = ("d_model", "n_heads", "n_kv_heads", "head_dim", "ffn_dim")


@dataclass(frozen=True)
class KernelRow:
    hardware: str
    model: str                 # a catalogue id, or any name when the shape columns are given
    dtype: str
    tp: int
    tokens: int
    op: str
    measured_s: float
    source: str
    d_model: int = 0           # the layer's shape (0: the catalogue model's)
    n_heads: int = 0
    n_kv_heads: int = 0
    head_dim: int = 0
    ffn_dim: int = 0
    gated: bool = True         # gate and up projections in one matmul (SwiGLU); else one up projection


KERNEL_COLUMNS = ("hardware", "model", "dtype", "tp", "tokens", "op", "measured_s", "source")


def read(path: str | Path) -> list[KernelRow]:
    """Rows of a kernel table; a missing or unreadable file, an empty table or a malformed row raises
    an InputError naming the file, and the line and field."""
    return _read_table(path, _kernel_row, _invalid, "kernel", "the columns of tests/data/kernel_timings.md",
                       KERNEL_COLUMNS, " (columns: tests/data/kernel_timings.md)")


def _kernel_row(r: dict) -> KernelRow:
    shape = {c: _number(r, c, int) for c in SHAPE_COLUMNS if r.get(c)}
    if r.get("gated"):
        shape["gated"] = _flag(r["gated"])
    return KernelRow(hardware=r["hardware"], model=r["model"], dtype=canonical(r["dtype"], "dtype"),
                     tp=_number(r, "tp", int), tokens=_number(r, "tokens", int), op=r["op"],
                     measured_s=_number(r, "measured_s", float), source=r["source"], **shape)


def _read_table(path, build, invalid, what: str, give: str, columns: tuple, empty_hint: str = "") -> list:
    """The rows `build` makes of each line of a CSV table, each checked by `invalid`; a missing or
    unreadable file, an empty table, a missing column, a row shorter than its header or a bad cell
    raises an InputError naming the file, and the line and field."""
    rows = []
    try:
        with open(path, newline="") as f:
            for line, r in enumerate(csv.DictReader(f), start=2):
                try:
                    short = [k for k, v in r.items() if v is None]
                    if short:
                        raise ValueError(f"no cell for {', '.join(short)} (the row is shorter than the header)")
                    row = build(r)
                except KeyError as exc:
                    raise InputError(f"{path}: column {exc} missing (columns: {', '.join(columns)})") from None
                except (ValueError, InputError) as exc:
                    raise InputError(f"{path} line {line}: {exc}") from None
                why = invalid(row)
                if why:
                    raise InputError(f"{path} line {line}: {why}")
                rows.append(row)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read a {what} table ({exc.__class__.__name__}); give a CSV file with "
                         f"{give}") from None
    if not rows:
        raise InputError(f"{path}: no {what} rows; give at least one{empty_hint}")
    return rows


def _number(r: dict, column: str, kind):
    """The cell as an int or a float, or a ValueError naming the column."""
    try:
        return kind(r[column])
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{column}={r[column]!r} is not {what}") from None


def _flag(text: str) -> bool:
    if text.strip().lower() not in ("true", "false", "1", "0"):
        raise ValueError(f"gated={text!r}: give true or false")
    return text.strip().lower() in ("true", "1")


def _unknown_hardware(row) -> str | None:
    if row.hardware not in hardware.known():
        return f"hardware={row.hardware!r} is not in the catalogue (servecost hardware lists it)"
    return None


def _unknown_modes(row, *names: str) -> str | None:
    """The first of the row's quant-mode cells `names` that servecost does not read, as a reason."""
    for name in names:
        if getattr(row, name) not in AIC_QUANT:
            return f"{name}={getattr(row, name)!r} is not a quant mode servecost reads (one of {', '.join(AIC_QUANT)})"
    return None


def _sizes_out_of_range(row, *names: str) -> str | None:
    sizes = tuple(getattr(row, n) for n in names)
    if not all(1 <= v <= 10**7 for v in sizes):
        return f"{', '.join(names)}: give whole numbers 1..10,000,000 (got {sizes})"
    return None


def _not_a_kernel_time(row) -> str | None:
    if not 0 < row.measured_s < 10:
        return f"measured_s={row.measured_s!r} is not a kernel time in seconds (0 < t < 10)"
    return None


def _invalid(row: KernelRow) -> str | None:
    if why := _unknown_hardware(row):
        return why
    given = [getattr(row, c) for c in SHAPE_COLUMNS]
    if not any(given) and row.model not in models.catalogue():
        return (f"model={row.model!r} is not in the catalogue (servecost models lists it); or give the layer's "
                f"{', '.join(SHAPE_COLUMNS)}")
    if any(given) and not all(1 <= v <= 10**6 for v in given):
        return f"give all of {', '.join(SHAPE_COLUMNS)} as whole numbers 1..1,000,000 (got {given})"
    if any(given) and row.n_heads % row.n_kv_heads:
        return f"n_kv_heads={row.n_kv_heads} does not divide n_heads={row.n_heads}"
    if row.op not in OPS:
        return f"op={row.op!r} is not one of {', '.join(OPS)}"
    if not 1 <= row.tp <= 1024 or not 1 <= row.tokens <= 10**7:
        return f"tp={row.tp} / tokens={row.tokens}: give 1..1024 GPUs and 1..10,000,000 tokens"
    return _not_a_kernel_time(row)


def layer_shape(row: KernelRow) -> KernelRow:
    """The row with its layer's shape filled from the catalogue model where its columns are blank."""
    if row.d_model:
        return row
    m: ModelSpec = models.get(row.model)
    return replace(row, d_model=m.d_model, n_heads=m.n_heads, n_kv_heads=m.n_kv_heads, head_dim=m.head_dim,
                   ffn_dim=m.dense_ffn_dim, gated=True)


def shape(row: KernelRow) -> tuple[int, int]:
    """(K, N) of the row's weight matmul on one of its `tp` GPUs."""
    r, tp = layer_shape(row), row.tp
    q_width, kv_width = r.n_heads * r.head_dim, r.n_kv_heads * r.head_dim
    up = (2 if r.gated else 1) * r.ffn_dim
    return {"qkv": (r.d_model, (q_width + 2 * kv_width) // tp), "o": (q_width // tp, r.d_model),
            "gate_up": (r.d_model, up // tp), "down": (r.ffn_dim // tp, r.d_model)}[row.op]


def predict_s(row: KernelRow, eff: Efficiency | None = None) -> float:
    """The engine's time for the row's matmul: its FLOPs and bytes (weights once, activations in and
    out) through roofline.matmul_s, plus its share of the per-layer cost."""
    hw = hardware.get(row.hardware)
    eff = eff or shipped().get(None, hw)
    k, n = shape(row)
    w = a = bytes_per_element(row.dtype)
    flops = FLOPS_PER_MAC * row.tokens * k * n
    bytes_ = k * n * w + row.tokens * (k + n) * a
    return float(matmul_s(flops, bytes_, hw, row.dtype, eff)) + kernel_cost_s(eff)


def errors(rows: list[KernelRow], eff: Efficiency | None = None) -> np.ndarray:
    """predicted / measured - 1 per row."""
    return np.array([predict_s(r, eff) / r.measured_s - 1 for r in rows])


@dataclass(frozen=True)
class LayerStep:
    """The four weight matmuls of one decoder layer in one step: (GPU, layer, dtype, tp, tokens)."""
    key: tuple
    tokens: int
    measured_s: float
    predicted_s: float


def layer_steps(rows: list[KernelRow], eff: Efficiency | None = None) -> list[LayerStep]:
    """Each step whose four matmuls (qkv, o, gate_up, down) are all in `rows`, their measured and
    predicted times summed: the layer's weight-matmul time in that step, the part of a step's
    device time the tables measure (attention, norms and activations are not in them)."""
    groups: dict[tuple, dict[str, KernelRow]] = {}
    for r in rows:
        s = layer_shape(r)
        key = (r.hardware, r.model, r.dtype, r.tp, r.tokens, s.d_model, s.n_heads, s.n_kv_heads, s.head_dim,
               s.ffn_dim, s.gated)
        groups.setdefault(key, {})[r.op] = r
    return [LayerStep(key, key[4], sum(ops[o].measured_s for o in OPS), sum(predict_s(ops[o], eff) for o in OPS))
            for key, ops in groups.items() if len(ops) == len(OPS)]


ATTENTION_COLUMNS = ("hardware", "kernel", "batch", "context_tokens", "n_heads", "n_kv_heads", "head_dim",
                     "kv_dtype", "measured_s", "source")


@dataclass(frozen=True)
class AttentionRow:
    hardware: str
    kernel: str
    batch: int                 # sequences decoding one token each
    context_tokens: int        # keys each attends
    n_heads: int
    n_kv_heads: int
    head_dim: int
    kv_dtype: str
    measured_s: float
    source: str

    @property
    def kv_bytes(self) -> float:
        """The KV cache the kernel reads: keys and values of every (sequence, KV head)."""
        return self.batch * self.context_tokens * 2 * self.n_kv_heads * self.head_dim * bytes_per_element(self.kv_dtype)

    @property
    def streams(self) -> int:
        return self.batch * self.n_kv_heads


def read_attention(path: str | Path) -> list[AttentionRow]:
    """Rows of a decode-attention table; a bad file or row raises an InputError naming it."""
    return _read_table(path, _attention_row, _attention_invalid, "decode-attention",
                       f"the columns {', '.join(ATTENTION_COLUMNS)}", ATTENTION_COLUMNS)


def _attention_row(r: dict) -> AttentionRow:
    return AttentionRow(hardware=r["hardware"], kernel=r["kernel"], kv_dtype=canonical(r["kv_dtype"], "kv_dtype"),
                        measured_s=_number(r, "measured_s", float), source=r["source"],
                        **{c: _number(r, c, int) for c in ("batch", "context_tokens", "n_heads", "n_kv_heads",
                                                           "head_dim")})


def _attention_invalid(row: AttentionRow) -> str | None:
    why = _unknown_hardware(row) or _sizes_out_of_range(row, "batch", "context_tokens", "n_heads", "n_kv_heads",
                                                        "head_dim")
    if why:
        return why
    if row.n_heads % row.n_kv_heads:
        return f"n_kv_heads={row.n_kv_heads} does not divide n_heads={row.n_heads}"
    return _not_a_kernel_time(row)


# Kernels in one measured attention call: vLLM's backend forward writes the step's new keys and values
# into the paged cache (reshape_and_cache_flash) and then runs the attention kernel; the collector times
# the whole forward in a CUDA graph (aiconfigurator collector/vllm/collect_attn.py, benchmark_with_power).
ATTENTION_CALL_KERNELS = 2


def predict_attention_s(row: AttentionRow, eff: Efficiency | None = None) -> float:
    """The engine's time for the row's attention call: the cache write of the new token's keys and
    values (one kernel's share of the per-layer cost, its bytes at the memory rate) and the decode
    attention (roofline.decode_attention_s, plus its kernel's share)."""
    hw = hardware.get(row.hardware)
    eff = eff or shipped().get(None, hw)
    flops = FLOPS_PER_MAC * row.batch * row.context_tokens * row.n_heads * 2 * row.head_dim
    write_bytes = row.kv_bytes / row.context_tokens
    return float(decode_attention_s(flops, row.kv_bytes, row.streams, hw, "bf16", eff, items=row.streams)) \
        + write_bytes / (hw.mem_bytes_per_s * eff.mem_bw_frac) + ATTENTION_CALL_KERNELS * kernel_cost_s(eff)


def attention_errors(rows: list[AttentionRow], eff: Efficiency | None = None) -> np.ndarray:
    """predicted / measured - 1 per row."""
    return np.array([predict_attention_s(r, eff) / r.measured_s - 1 for r in rows])


MOE_COLUMNS = ("hardware", "kernel", "moe_dtype", "tokens", "hidden_size", "inter_size", "topk", "num_experts",
               "moe_tp", "moe_ep", "distribution", "measured_s", "source")
# Kernels in one measured fused_experts call: the token sort by expert (moe_align_block_size), the
# grouped gate-up GEMM, SiLU-and-mul, the grouped down GEMM and the weighted combine (moe_sum): the
# engine's MOE_KERNELS without the router GEMM and its top-k, which the collector computes outside
# (vllm/model_executor/layers/fused_moe/fused_moe.py; aiconfigurator collector/vllm/collect_moe.py).
MOE_CALL_KERNELS = 5
# Weight-only modes dequantise to bf16 and multiply there (Marlin W4A16, weight-only FP4).
WEIGHT_ONLY_MODES = ("int4_wo", "nvfp4_wo", "w4a16_mxfp4", "w4a16_mxfp4_cutlass", "int8_wo")


@dataclass(frozen=True)
class MoeRow:
    hardware: str
    kernel: str
    moe_dtype: str             # the table's quant mode (bfloat16, fp8, int4_wo, nvfp4, ...)
    tokens: int
    hidden_size: int
    inter_size: int            # one expert's FFN width, before tensor parallelism
    topk: int
    num_experts: int
    moe_tp: int
    moe_ep: int
    distribution: str
    measured_s: float
    source: str

    @property
    def weight_dtype(self) -> str:
        return AIC_QUANT[self.moe_dtype]

    @property
    def compute_dtype(self) -> str:
        return "bf16" if self.moe_dtype in WEIGHT_ONLY_MODES else self.weight_dtype


def read_moe(path: str | Path) -> list[MoeRow]:
    """Rows of a MoE kernel table; a bad file or row raises an InputError naming it."""
    return _read_table(path, _moe_row, _moe_invalid, "MoE kernel", f"the columns {', '.join(MOE_COLUMNS)}",
                       MOE_COLUMNS)


def _moe_row(r: dict) -> MoeRow:
    return MoeRow(hardware=r["hardware"], kernel=r["kernel"], moe_dtype=r["moe_dtype"].strip().lower(),
                  distribution=r["distribution"], measured_s=_number(r, "measured_s", float), source=r["source"],
                  **{c: _number(r, c, int) for c in ("tokens", "hidden_size", "inter_size", "topk", "num_experts",
                                                      "moe_tp", "moe_ep")})


def _moe_invalid(row: MoeRow) -> str | None:
    why = _unknown_hardware(row) or _unknown_modes(row, "moe_dtype") or _sizes_out_of_range(
        row, "tokens", "hidden_size", "inter_size", "topk", "num_experts", "moe_tp", "moe_ep")
    if why:
        return why
    if row.topk > row.num_experts or row.num_experts % row.moe_ep or row.inter_size % row.moe_tp:
        return (f"topk={row.topk}, num_experts={row.num_experts}, moe_ep={row.moe_ep}, inter_size={row.inter_size}, "
                f"moe_tp={row.moe_tp}: topk <= num_experts, moe_ep dividing num_experts and moe_tp inter_size")
    return _not_a_kernel_time(row)


def moe_work(row: MoeRow) -> tuple[float, float]:
    """(FLOPs, bytes) of the row's routed experts on its GPU: its share of the tokens' expert
    assignments and of the experts they wake (roofline.experts_touched), bf16 activations in and out."""
    k, E, T = row.topk, row.num_experts, row.tokens
    expert_elems = 3 * row.hidden_size * row.inter_size / row.moe_tp      # gate, up, down on this GPU
    assignments = T * k / row.moe_ep
    woken = float(distinct_experts(k, E, T)) / row.moe_ep
    act = bytes_per_element("bf16")
    act_bytes = act * (2 * T * row.hidden_size + assignments * (4 * row.inter_size / row.moe_tp + row.hidden_size))
    weight_bytes = woken * expert_elems * bytes_per_element(row.weight_dtype)
    return FLOPS_PER_MAC * assignments * expert_elems, weight_bytes + act_bytes


def predict_moe_s(row: MoeRow, eff: Efficiency | None = None) -> float:
    """The engine's time for the row's routed experts: their math and traffic at the expert shares
    of the GEMM and memory rates (roofline.matmul_s), plus the call's kernels' shares of t_layer."""
    hw = hardware.get(row.hardware)
    eff = eff or shipped().get(None, hw)
    flops, bytes_ = moe_work(row)
    return float(matmul_s(flops, bytes_, hw, row.compute_dtype, eff, None, eff.expert_gemm_frac,
                          eff.expert_mem_bw_frac)) + MOE_CALL_KERNELS * kernel_cost_s(eff)


def moe_errors(rows: list[MoeRow], eff: Efficiency | None = None) -> np.ndarray:
    """predicted / measured - 1 per row."""
    return np.array([predict_moe_s(r, eff) / r.measured_s - 1 for r in rows])


GEMM_COLUMNS = ("hardware", "kernel", "gemm_dtype", "m", "n", "k", "measured_s", "source")
# Kernels in one measured GEMM call: the GEMM, and for W4A4 NVFP4 the quantisation of its
# activations before it (vLLM compressed-tensors W4A4: scaled_fp4_quant, then the FP4 GEMM).
GEMM_CALL_KERNELS = {"nvfp4": 2}


@dataclass(frozen=True)
class GemmRow:
    hardware: str
    kernel: str
    gemm_dtype: str            # the table's quant mode (bfloat16, fp8, nvfp4, ...)
    m: int                     # tokens
    n: int
    k: int
    measured_s: float
    source: str

    @property
    def dtype(self) -> str:
        return AIC_QUANT[self.gemm_dtype]


def read_gemm(path: str | Path) -> list[GemmRow]:
    """Rows of a GEMM kernel table; a bad file or row raises an InputError naming it."""
    return _read_table(path, _gemm_row, _gemm_invalid, "GEMM kernel", f"the columns {', '.join(GEMM_COLUMNS)}",
                       GEMM_COLUMNS)


def _gemm_row(r: dict) -> GemmRow:
    return GemmRow(hardware=r["hardware"], kernel=r["kernel"], gemm_dtype=r["gemm_dtype"].strip().lower(),
                   measured_s=_number(r, "measured_s", float), source=r["source"],
                   **{c: _number(r, c, int) for c in ("m", "n", "k")})


def _gemm_invalid(row: GemmRow) -> str | None:
    return (_unknown_hardware(row) or _unknown_modes(row, "gemm_dtype") or _sizes_out_of_range(row, "m", "n", "k")
            or _not_a_kernel_time(row))


def predict_gemm_s(row: GemmRow, eff: Efficiency | None = None) -> float:
    """The engine's time for the row's GEMM, x[m, k] @ W[k, n] (roofline.matmul_s: weights once,
    bf16 activations in and out), plus its call's kernels' shares of t_layer."""
    hw = hardware.get(row.hardware)
    eff = eff or shipped().get(None, hw)
    flops = FLOPS_PER_MAC * row.m * row.n * row.k
    bytes_ = row.k * row.n * bytes_per_element(row.dtype) + row.m * (row.k + row.n) * bytes_per_element("bf16")
    return float(matmul_s(flops, bytes_, hw, row.dtype, eff)) + GEMM_CALL_KERNELS.get(row.dtype, 1) * kernel_cost_s(eff)


def gemm_errors(rows: list[GemmRow], eff: Efficiency | None = None) -> np.ndarray:
    """predicted / measured - 1 per row."""
    return np.array([predict_gemm_s(r, eff) / r.measured_s - 1 for r in rows])


MLA_COLUMNS = ("hardware", "model", "kv_cache_dtype", "gemm_dtype", "heads", "batch", "context_tokens", "measured_s",
               "source")


@dataclass(frozen=True)
class MlaRow:
    hardware: str
    model: str                 # a catalogue MLA model
    kv_cache_dtype: str        # the table's modes (bfloat16, fp8, fp8_block, nvfp4, ...)
    gemm_dtype: str
    heads: int                 # query heads on the GPU
    batch: int
    context_tokens: int
    measured_s: float
    source: str


def read_mla(path: str | Path) -> list[MlaRow]:
    """Rows of an MLA attention-module table; a bad file or row raises an InputError naming it."""
    return _read_table(path, _mla_row, _mla_invalid, "MLA module", f"the columns {', '.join(MLA_COLUMNS)}",
                       MLA_COLUMNS)


def _mla_row(r: dict) -> MlaRow:
    return MlaRow(hardware=r["hardware"], model=r["model"], kv_cache_dtype=r["kv_cache_dtype"].strip().lower(),
                  gemm_dtype=r["gemm_dtype"].strip().lower(), measured_s=_number(r, "measured_s", float),
                  source=r["source"], **{c: _number(r, c, int) for c in ("heads", "batch", "context_tokens")})


def _mla_invalid(row: MlaRow) -> str | None:
    if why := _unknown_hardware(row):
        return why
    try:
        m = models.get(row.model)
    except InputError:
        return f"model={row.model!r} is not a catalogue model (servecost models lists them)"
    if m.attention != "mla":
        return f"model={row.model!r} has {m.attention} attention; this table is for MLA models"
    if why := _unknown_modes(row, "kv_cache_dtype", "gemm_dtype"):
        return why
    if not 1 <= row.heads <= m.n_heads or m.n_heads % row.heads:
        return f"heads={row.heads}: give a divisor of the model's {m.n_heads} query heads"
    return _sizes_out_of_range(row, "batch", "context_tokens") or _not_a_kernel_time(row)


def predict_mla_s(row: MlaRow, eff: Efficiency | None = None) -> float:
    """The engine's time for one MLA layer's attention at tensor-parallel n_heads / heads: its weights'
    matmul, its decode attention over the latent cache and its kernels' shares of t_layer."""
    hw = hardware.get(row.hardware)
    eff = eff or shipped().get(None, hw)
    m = models.get(row.model)
    tp = m.n_heads // row.heads
    weight, kv = AIC_QUANT[row.gemm_dtype], AIC_QUANT[row.kv_cache_dtype]
    one_layer = replace(m, n_layers=1, n_full_layers=1)
    work = step_work(one_layer, Parallel(tp=tp), Precision(weight=weight, expert=weight, kv=kv),
                     decode_seqs=row.batch, context_tokens=row.context_tokens)
    attn_w = P.attention_params_per_rank(one_layer, tp)
    act = bytes_per_element("bf16")
    weights_s = matmul_s(FLOPS_PER_MAC * row.batch * attn_w, attn_w * bytes_per_element(weight)
                         + 2 * row.batch * m.d_model * act, hw, weight, eff)
    attention_s = decode_attention_s(work.attn_flops, work.attn_bytes, work.kv_streams, hw, "bf16", eff, None,
                                     work.attn_items)
    return float(weights_s + attention_s) + ATTENTION_KERNELS["mla"] * kernel_cost_s(eff)


def mla_errors(rows: list[MlaRow], eff: Efficiency | None = None) -> np.ndarray:
    """predicted / measured - 1 per row."""
    return np.array([predict_mla_s(r, eff) / r.measured_s - 1 for r in rows])
