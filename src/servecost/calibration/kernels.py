"""Measured kernel times of one decoder layer's weight matmuls against the engine's matmul roofline.

A kernel table (tests/data/kernel_timings.csv: a published profile, its URL and commit) gives, per
GPU, model, tensor-parallel size and tokens in the step (M), the device time of each weight matmul
of a dense decoder layer on one GPU:
    qkv      x[M, d] @ W[d, (h + 2 h_kv) d_h / tp]
    o        x[M, h d_h / tp] @ W[h d_h / tp, d]
    gate_up  x[M, d] @ W[d, 2 F / tp]          (gated FFN)
    down     x[M, F / tp] @ W[F / tp, d]
Each is predicted as the engine times its dense matmuls (roofline.matmul_s), with the profile's GEMM
and memory shares, plus the kernel's share of the engine's per-layer cost t_layer:
    t = ||(2 M K N / (C_peak f_gemm), (K N w + M (K + N) a) / (W f_mem))||_p + t_layer / n_k
t_layer is device time (a kernel's fill and drain: a memory-bound matmul of a few MB runs 4-6 us
over its bytes at the streaming rate, in the measured tables), spread over the n_k = 10 kernels of
a dense decoder layer as vLLM runs it (vllm/model_executor/models/llama.py: two fused add-RMSNorms,
QKV, rotary, KV-cache write, attention, O, gate-up, SiLU-and-mul, down).
M <= 256 are decode-sized steps (the weights stream), larger ones prefill-sized (the math binds).
"""

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import hardware, models
from ..dtypes import bytes_per_element, canonical
from ..efficiency import Efficiency
from ..errors import InputError
from ..models import ModelSpec
from ..profiles import shipped
from ..roofline import matmul_s

OPS = ("qkv", "o", "gate_up", "down")
DECODE_MAX_TOKENS = 256     # steps of at most this many tokens count as decode-sized
KERNELS_PER_LAYER = 10      # a dense decoder layer's kernels in vLLM (see above)


@dataclass(frozen=True)
class KernelRow:
    hardware: str
    model: str
    dtype: str
    tp: int
    tokens: int
    op: str
    measured_s: float
    source: str


def read(path: str | Path) -> list[KernelRow]:
    """Rows of a kernel table; a malformed row raises an InputError naming its line and field."""
    rows = []
    with open(path, newline="") as f:
        for line, r in enumerate(csv.DictReader(f), start=2):
            try:
                row = KernelRow(hardware=r["hardware"], model=r["model"], dtype=canonical(r["dtype"], "dtype"),
                                tp=int(r["tp"]), tokens=int(r["tokens"]), op=r["op"],
                                measured_s=float(r["measured_s"]), source=r["source"])
            except KeyError as exc:
                raise InputError(f"{path}: column {exc} missing (columns: hardware, model, dtype, tp, tokens, op, "
                                 "measured_s, source)") from None
            except (ValueError, InputError) as exc:
                raise InputError(f"{path} line {line}: {exc}") from None
            why = _invalid(row)
            if why:
                raise InputError(f"{path} line {line}: {why}")
            rows.append(row)
    return rows


def _invalid(row: KernelRow) -> str | None:
    if row.hardware not in hardware.known():
        return f"hardware={row.hardware!r} is not in the catalogue (servecost hardware lists it)"
    if row.model not in models.catalogue():
        return f"model={row.model!r} is not in the catalogue (servecost models lists it)"
    if row.op not in OPS:
        return f"op={row.op!r} is not one of {', '.join(OPS)}"
    if not 1 <= row.tp <= 1024 or not 1 <= row.tokens <= 10**7:
        return f"tp={row.tp} / tokens={row.tokens}: give 1..1024 GPUs and 1..10,000,000 tokens"
    if not 0 < row.measured_s < 10:
        return f"measured_s={row.measured_s!r} is not a kernel time in seconds (0 < t < 10)"
    return None


def shape(m: ModelSpec, op: str, tp: int) -> tuple[int, int]:
    """(K, N) of the layer's weight matmul `op` on one of `tp` GPUs."""
    q_width, kv_width = m.n_heads * m.head_dim, m.n_kv_heads * m.head_dim
    return {"qkv": (m.d_model, (q_width + 2 * kv_width) // tp), "o": (q_width // tp, m.d_model),
            "gate_up": (m.d_model, 2 * m.dense_ffn_dim // tp), "down": (m.dense_ffn_dim // tp, m.d_model)}[op]


def predict_s(row: KernelRow, eff: Efficiency | None = None) -> float:
    """The engine's time for the row's matmul: its FLOPs and bytes (weights once, activations in and
    out) through roofline.matmul_s, plus its share of the per-layer cost."""
    m, hw = models.get(row.model), hardware.get(row.hardware)
    eff = eff or shipped().get(None, hw)
    k, n = shape(m, row.op, row.tp)
    w = a = bytes_per_element(row.dtype)
    flops = 2.0 * row.tokens * k * n
    bytes_ = k * n * w + row.tokens * (k + n) * a
    return float(matmul_s(flops, bytes_, hw, row.dtype, eff)) + eff.layer_overhead_s / KERNELS_PER_LAYER


def errors(rows: list[KernelRow], eff: Efficiency | None = None) -> np.ndarray:
    """predicted / measured - 1 per row."""
    return np.array([predict_s(r, eff) / r.measured_s - 1 for r in rows])
