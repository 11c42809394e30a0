"""Kernel-level check: measured weight-matmul kernel times (tests/data/kernel_timings.csv, Vidur's
H100 profiles of six dense models at tensor-parallel 1-8 and 1-4,096 tokens) against the
engine's matmul roofline with the shipped factors (servecost.calibration.kernels), then per layer step
(the four matmuls of a layer in one step summed), then without each kernel's share of the layer cost, then with GEMM share, memory share and a time per kernel fitted to
the kernels (each model predicted by the factors fitted without it); then measured decode-attention
kernels (tests/data/decode_attention_timings.csv, H200 and B200) against the engine's decode attention;
then measured GEMM kernels on a B200 (tests/data/gemm_kernel_timings.csv), DeepSeek-V3 MLA attention
modules on an H200 and a B200 (tests/data/mla_module_timings.csv) and routed-expert (MoE) kernels
(tests/data/moe_kernel_timings.csv, H200 and B200) against the engine's times for them, and with a
few factors fitted per kernel.
No shipped fit uses these timings.

Run: python benchmarks/kernels.py [TABLE.csv]   (your own table: the same columns, see
tests/data/kernel_timings.md)
"""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from servecost.calibration import kernels
from servecost.errors import InputError
from servecost.profiles import shipped
from servecost.roofline import ATTENTION_KERNELS, DENSE_LAYER_KERNELS

TABLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "kernel_timings.csv"
ATTENTION = Path(__file__).resolve().parents[1] / "tests" / "data" / "decode_attention_timings.csv"
MOE = Path(__file__).resolve().parents[1] / "tests" / "data" / "moe_kernel_timings.csv"
GEMM = Path(__file__).resolve().parents[1] / "tests" / "data" / "gemm_kernel_timings.csv"
MLA = Path(__file__).resolve().parents[1] / "tests" / "data" / "mla_module_timings.csv"


def _line(label: str, q: np.ndarray) -> str:
    e = np.abs(q - 1)
    return f"| {label} | {q.size} | {np.median(e):.1%} | {np.quantile(e, 0.9):.1%} | x{np.median(q):.2f} |"


def _kernel_set(base, x):
    """`base` with GEMM share, memory share and a fixed time per kernel (as t_layer / n_k) set to x."""
    gemm, mem, per_kernel_s = x
    return replace(base, gemm_flops_frac=gemm, mem_bw_frac=mem, layer_overhead_s=per_kernel_s * DENSE_LAYER_KERNELS)


def _fit(rows, base):
    """The three kernel factors fitted to `rows` (least squares on log predicted / measured)."""
    res = least_squares(lambda x: np.log(1 + kernels.errors(rows, _kernel_set(base, x))), [0.75, 0.9, 4e-6],
                        bounds=([0.3, 0.3, 0.0], [1.0, 1.0, 3e-5]), x_scale=[0.1, 0.1, 1e-6])
    return res.x


def fitted_to_kernels(rows, base) -> None:
    """What the formula reaches with its factors fitted to kernels: fitted on all, and each model
    predicted by the factors fitted without it."""
    x = _fit(rows, base)
    print(f"\nfitted to these kernels: GEMM share {x[0]:.2f}, memory share {x[1]:.2f}, {x[2] * 1e6:.1f} us per kernel")
    q = np.empty(len(rows))
    for model in sorted({r.model for r in rows}):
        held = np.array([r.model == model for r in rows])
        x = _fit([r for r, h in zip(rows, held) if not h], base)
        q[held] = 1 + kernels.errors([r for r, h in zip(rows, held) if h], _kernel_set(base, x))
    e = np.abs(q - 1)
    print(f"each model predicted by the factors fitted without it: median error {np.median(e):.1%}, "
          f"p90 {np.quantile(e, 0.9):.1%}")


def layer_step_check(rows, profiles) -> None:
    """The four matmuls of each layer step summed (kernels.layer_steps): per profile, and the default
    set by step size."""
    print("\nper layer step (its four matmuls summed, measured against predicted):")
    print("| profile, steps | steps | median error | p90 error | median pred/meas |\n|---|---|---|---|---|")
    for name, eff in [("default", profiles.default)] + [(n, profiles.groups[n]) for n in ("vllm", "trtllm", "sglang")]:
        steps = kernels.layer_steps(rows, eff)
        q = np.array([s.predicted_s / s.measured_s for s in steps])
        print(_line(f"{name}, all", q))
        if name == "default":
            decode = np.array([s.tokens <= kernels.DECODE_MAX_TOKENS for s in steps])
            print(_line(f"{name}, decode (<= {kernels.DECODE_MAX_TOKENS})", q[decode]))
            print(_line(f"{name}, prefill (> {kernels.DECODE_MAX_TOKENS})", q[~decode]))


def _attention_pred_s(row, x, base) -> float:
    """Decode attention with a kernel floor, a time per (sequence, KV head) and a per-stream rate x."""
    floor_us, item_ns, stream_gb_per_s = x
    eff = replace(base, kv_stream_bytes_per_s=stream_gb_per_s * 1e9, decode_attn_item_s=item_ns * 1e-9,
                  layer_overhead_s=0.0)
    return kernels.predict_attention_s(row, eff) + floor_us * 1e-6


def _attention_fit(rows, base):
    res = least_squares(lambda x: np.log([_attention_pred_s(r, x, base) / r.measured_s for r in rows]),
                        [6.0, 20.0, 100.0], bounds=([0.0, 0.0, 1.0], [30.0, 500.0, 1e5]))
    return res.x


def decode_attention_check(profiles) -> None:
    """Measured decode-attention kernels against the engine's decode attention, then with a kernel
    floor, a time per (sequence, KV head) and a per-stream rate fitted per GPU (on every other row,
    predicting the rest)."""
    rows = kernels.read_attention(ATTENTION)
    print(f"\n{len(rows)} measured decode-attention kernels (tests/data/decode_attention_timings.csv):")
    print("| GPU, kernel | kernels | median error | p90 error | median pred/meas |\n|---|---|---|---|---|")
    for hw in sorted({r.hardware for r in rows}):
        part = [r for r in rows if r.hardware == hw]
        print(_line(f"{hw}, {part[0].kernel}, shipped set", 1 + kernels.attention_errors(part, profiles.get(None, hw))))
    for hw in sorted({r.hardware for r in rows}):
        part = [r for r in rows if r.hardware == hw]
        base = profiles.get(None, hw)
        x = _attention_fit(part, base)
        x_half = _attention_fit(part[::2], base)
        q = np.array([_attention_pred_s(r, x_half, base) / r.measured_s for r in part[1::2]])
        print(f"{hw}: fitted floor {x[0]:.1f} us, {x[1]:.0f} ns per (sequence, KV head), {x[2]:.0f} GB/s per "
              f"stream; fitted on every other row, the rest: median error {np.median(np.abs(q - 1)):.1%}, "
              f"p90 {np.quantile(np.abs(q - 1), 0.9):.1%}")


def _moe_set(base, x):
    gemm, mem = x
    return replace(base, expert_gemm_frac=gemm, expert_mem_bw_frac=mem)


def _moe_fit(rows, base):
    """Expert GEMM and memory shares fitted to `rows` (least squares on log predicted / measured)."""
    res = least_squares(lambda x: np.log(1 + kernels.moe_errors(rows, _moe_set(base, x))), [0.5, 0.8],
                        bounds=([0.01, 0.05], [1.0, 1.2]))
    return res.x


def moe_check(profiles) -> None:
    """Measured routed-expert kernels against the engine's expert time with each GPU's shipped set, by
    kernel and dtype and by step size; then the expert GEMM and memory shares fitted per GPU and
    kernel on every other row, predicting the rest."""
    rows = kernels.read_moe(MOE)
    print(f"\n{len(rows)} measured routed-expert kernels (tests/data/moe_kernel_timings.csv), shipped sets:")
    print("| GPU, kernel, dtype | kernels | median error | p90 error | median pred/meas |\n|---|---|---|---|---|")
    groups = sorted({(r.hardware, r.kernel, r.moe_dtype) for r in rows})
    q_all = []
    for hw, kernel, dtype in groups:
        part = [r for r in rows if (r.hardware, r.kernel, r.moe_dtype) == (hw, kernel, dtype)]
        q = 1 + kernels.moe_errors(part, profiles.get(None, hw))
        q_all.append(q)
        small = np.array([r.tokens <= kernels.DECODE_MAX_TOKENS for r in part])
        print(_line(f"{hw}, {kernel}, {dtype}", q) + (f" decode-sized x{np.median(q[small]):.2f}, prefill-sized "
                                                        f"x{np.median(q[~small]):.2f}" if small.any() and (~small).any() else ""))
    print(_line("all", np.concatenate(q_all)))
    print("\nexpert GEMM and memory shares fitted per GPU and kernel (on every other row; the rest predicted):")
    for hw, kernel, dtype in groups:
        part = [r for r in rows if (r.hardware, r.kernel, r.moe_dtype) == (hw, kernel, dtype)]
        if len(part) < 10:
            continue
        base = profiles.get(None, hw)
        x, x_half = _moe_fit(part, base), _moe_fit(part[::2], base)
        q = 1 + kernels.moe_errors(part[1::2], _moe_set(base, x_half))
        print(f"  {hw}, {kernel}, {dtype}: GEMM share {x[0]:.2f}, memory share {x[1]:.2f}; the rest: median error "
              f"{np.median(np.abs(q - 1)):.1%}, p90 {np.quantile(np.abs(q - 1), 0.9):.1%}")


def _gemm_set(base, x, calls):
    """`base` with GEMM share, memory share and a fixed time per call of `calls` kernels (as their
    shares of t_layer) set to x."""
    gemm, mem, per_call_us = x
    return replace(base, gemm_flops_frac=gemm, mem_bw_frac=mem,
                   layer_overhead_s=per_call_us * 1e-6 * DENSE_LAYER_KERNELS / calls)


def gemm_check(profiles) -> None:
    """Measured GEMM kernels (another GPU than the Vidur tables) against the engine's matmul with the
    GPU's shipped set, by dtype and by size; then GEMM share, memory share and a fixed time per call
    fitted per dtype on every other row, predicting the rest."""
    rows = kernels.read_gemm(GEMM)
    print(f"\n{len(rows)} measured GEMM kernels (tests/data/gemm_kernel_timings.csv), shipped sets:")
    print("| GPU, kernel, dtype | kernels | median error | p90 error | median pred/meas |\n|---|---|---|---|---|")
    for hw, dtype in sorted({(r.hardware, r.gemm_dtype) for r in rows}):
        part = [r for r in rows if (r.hardware, r.gemm_dtype) == (hw, dtype)]
        q = 1 + kernels.gemm_errors(part, profiles.get(None, hw))
        big = np.array([2 * r.m * r.n * r.k >= 1e11 for r in part])
        print(_line(f"{hw}, {part[0].kernel}, {dtype}", q) + f" >= 100 GFLOP x{np.median(q[big]):.2f}, "
              f"smaller x{np.median(q[~big]):.2f}")
        base = profiles.get(None, hw)
        calls = kernels.GEMM_CALL_KERNELS.get(part[0].dtype, 1)

        def fit(sub):
            return least_squares(lambda x: np.log(1 + kernels.gemm_errors(sub, _gemm_set(base, x, calls))),
                                 [0.7, 0.8, 3.0], bounds=([0.05, 0.05, 0.0], [1.0, 1.0, 30.0]),
                                 x_scale=[0.1, 0.1, 1.0]).x

        x, x_half = fit(part), fit(part[::2])
        rest = np.abs(kernels.gemm_errors(part[1::2], _gemm_set(base, x_half, calls)))
        print(f"  fitted: GEMM share {x[0]:.2f}, memory share {x[1]:.2f}, {x[2]:.1f} us per call; on every other "
              f"row, the rest: median error {np.median(rest):.1%}, p90 {np.quantile(rest, 0.9):.1%}")


def _mla_set(base, x):
    """`base` with a fixed time per MLA module (as its kernels' share of t_layer), the decode-attention
    FLOP share and the memory share set to x."""
    module_us, attn, mem = x
    return replace(base, layer_overhead_s=module_us * 1e-6 * DENSE_LAYER_KERNELS / ATTENTION_KERNELS["mla"],
                   decode_attn_flops_frac=attn, mem_bw_frac=mem)


def mla_check(profiles) -> None:
    """Measured DeepSeek-V3 MLA attention modules (decode) against the engine's attention layer with
    each GPU's shipped set, small and large; then a fixed time per module, the decode-attention share
    and the memory share fitted per GPU on every other row, predicting the rest."""
    rows = kernels.read_mla(MLA)
    print(f"\n{len(rows)} measured MLA attention modules (tests/data/mla_module_timings.csv), shipped sets:")
    print("| GPU | modules | median error | p90 error | median pred/meas |\n|---|---|---|---|---|")
    for hw in sorted({r.hardware for r in rows}):
        part = [r for r in rows if r.hardware == hw]
        base = profiles.get(None, hw)
        q = 1 + kernels.mla_errors(part, base)
        small = np.array([r.batch * r.context_tokens <= 65536 for r in part])
        print(_line(hw, q) + f" <= 64k cached tokens x{np.median(q[small]):.2f}, more x{np.median(q[~small]):.2f}")

        def fit(sub):
            return least_squares(lambda x: np.log(1 + kernels.mla_errors(sub, _mla_set(base, x))), [60.0, 0.6, 0.8],
                                 bounds=([0.0, 0.05, 0.1], [500.0, 1.0, 1.0]), x_scale=[10.0, 0.1, 0.1]).x

        x, x_half = fit(part), fit(part[::2])
        rest = np.abs(kernels.mla_errors(part[1::2], _mla_set(base, x_half)))
        print(f"  fitted: {x[0]:.0f} us per module, decode attention at {x[1]:.2f} of peak, memory share {x[2]:.2f}; "
              f"on every other row, the rest: median error {np.median(rest):.1%}, p90 {np.quantile(rest, 0.9):.1%}")


def main() -> int:
    try:
        rows = kernels.read(sys.argv[1] if len(sys.argv) > 1 else TABLE)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    profiles = shipped()
    print(f"{len(rows)} measured matmul kernels; predicted / measured (> 1: servecost too slow)\n")
    print("| profile | kernels | median error | p90 error | median pred/meas |\n|---|---|---|---|---|")
    q = 1 + kernels.errors(rows, profiles.default)
    print(_line("default", q))
    for name in ("vllm", "trtllm", "sglang"):
        print(_line(name, 1 + kernels.errors(rows, profiles.groups[name])))
    decode = np.array([r.tokens <= kernels.DECODE_MAX_TOKENS for r in rows])
    print("\nshipped default, by model and step size:")
    print("| model, tokens | kernels | median error | p90 error | median pred/meas |\n|---|---|---|---|---|")
    for model in sorted({r.model for r in rows}):
        of = np.array([r.model == model for r in rows])
        print(_line(f"{model}, decode (<= {kernels.DECODE_MAX_TOKENS})", q[of & decode]))
        print(_line(f"{model}, prefill (> {kernels.DECODE_MAX_TOKENS})", q[of & ~decode]))
    print(_line("all", q))
    bare = 1 + kernels.errors(rows, replace(profiles.default, layer_overhead_s=0.0))
    print(f"\nwithout each kernel's share of the layer cost: median error {np.median(np.abs(bare - 1)):.1%}, "
          f"x{np.median(bare):.2f} ("
          + ", ".join(f"{m} x{np.median(bare[[r.model == m for r in rows]]):.2f}" for m in sorted({r.model for r in rows}))
          + ")")
    print("\nby tensor-parallel size (median pred/meas):")
    for tp in sorted({r.tp for r in rows}):
        of = np.array([r.tp == tp for r in rows])
        print(f"  tp={tp}: decode x{np.median(q[of & decode]):.2f}, prefill x{np.median(q[of & ~decode]):.2f}")
    layer_step_check(rows, profiles)
    fitted_to_kernels(rows, profiles.default)
    decode_attention_check(profiles)
    gemm_check(profiles)
    mla_check(profiles)
    moe_check(profiles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
