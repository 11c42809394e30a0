"""Wall power per chip as a function of how busy a step keeps it.

    P = (P_sys_load - P_tdp) + P_idle + (P_tdp - P_idle) * min(1, a_mem * U_mem + a_flops * U_flops)

The first term is the rest of the system's wall power per chip (host CPUs, switches, NICs, fans,
power conversion: the chip's share of the system's load power, hardware.csv system_load_w, less its
TDP); those parts run whenever the system serves, whatever the chips' utilisation. The chip itself
moves between its idle and TDP with how busy a step keeps it. A fleet's IT power is chips x P and its
facility power that x PUE; a system that does not serve draws system_idle_w. A statically scheduled machine (Cerebras, Groq,
SambaNova: families.py) keeps every unit clocked while it serves, so it draws P_load whatever the
share of its SRAM bandwidth a step uses.

Anchor points on an H100 SXM (700 W TDP), the measured figures the project started from:
~420 W decoding at batch 1 (memory-bound, U_mem ~ 0.8, U_flops ~ 0) and ~690 W at batch 256;
Lambda's vLLM benchmark of Llama-3.1-8B on H100 reports GPU power at ~95% of TDP (~665 W) at large
batch (github.com/LambdaLabsML/vllm-benchmark, benchmark_v0.md). Idle power per chip is in
hardware.csv with its source. Two points fix the two weights:
    420 = 135 + 565 * a_mem * 0.8              -> a_mem ~ 0.63
    690 = 135 + 565 * (0.63 * 0.8 + a_flops * 0.5) -> a_flops ~ 0.96 (U_flops ~ 0.5 at batch 256)
Other chips reuse the weights between their own idle and load figures.
"""

import numpy as np

from . import families
from .hardware import Accelerator

MEM_WEIGHT = 0.63
FLOPS_WEIGHT = 0.96


def chip_power_w(hw: Accelerator, flops_util_frac, mem_util_frac):
    """Wall watts per chip while serving (its share of the system's) at the given utilisations."""
    load = np.minimum(1.0, MEM_WEIGHT * np.asarray(mem_util_frac) + FLOPS_WEIGHT * np.asarray(flops_util_frac))
    if families.get(hw.family).static_power:
        load = np.ones_like(load, dtype=float)
    rest_of_system_w = max(hw.load_w - hw.tdp_w, 0.0)
    return rest_of_system_w + hw.idle_w + (hw.tdp_w - hw.idle_w) * load
