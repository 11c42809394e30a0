"""Kernel-level check: measured weight-matmul kernel times (tests/data/kernel_timings.csv, Vidur's
H100 profiles of six dense models at tensor-parallel 1-8 and 1-4,096 tokens) against the
engine's matmul roofline with the shipped factors (servecost.calibration.kernels). None of these
timings is used by any fit.

Run: python benchmarks/kernels.py [TABLE.csv]   (your own table: the same columns, see
tests/data/kernel_timings.md)
"""

import sys
from pathlib import Path

import numpy as np

from servecost.calibration import kernels
from servecost.profiles import shipped

TABLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "kernel_timings.csv"


def _line(label: str, q: np.ndarray) -> str:
    e = np.abs(q - 1)
    return f"| {label} | {q.size} | {np.median(e):.1%} | {np.quantile(e, 0.9):.1%} | x{np.median(q):.2f} |"


def main() -> None:
    rows = kernels.read(sys.argv[1] if len(sys.argv) > 1 else TABLE)
    profiles = shipped()
    print(f"{len(rows)} measured matmul kernels; predicted / measured (> 1: servecost too slow)\n")
    print("| profile | kernels | median error | p90 error | median pred/meas |\n|---|---|---|---|---|")
    for name, eff in [("default", profiles.default)] + [(g, profiles.groups[g]) for g in ("vllm", "trtllm", "sglang")]:
        print(_line(name, 1 + kernels.errors(rows, eff)))
    q = 1 + kernels.errors(rows, profiles.default)
    decode = np.array([r.tokens <= kernels.DECODE_MAX_TOKENS for r in rows])
    print("\nshipped default, by model and step size:")
    print("| model, tokens | kernels | median error | p90 error | median pred/meas |\n|---|---|---|---|---|")
    for model in sorted({r.model for r in rows}):
        of = np.array([r.model == model for r in rows])
        print(_line(f"{model}, decode (<= {kernels.DECODE_MAX_TOKENS})", q[of & decode]))
        print(_line(f"{model}, prefill (> {kernels.DECODE_MAX_TOKENS})", q[of & ~decode]))
    print(_line("all", q))
    print("\nby tensor-parallel size (median pred/meas):")
    for tp in sorted({r.tp for r in rows}):
        of = np.array([r.tp == tp for r in rows])
        print(f"  tp={tp}: decode x{np.median(q[of & decode]):.2f}, prefill x{np.median(q[of & ~decode]):.2f}")


if __name__ == "__main__":
    main()
