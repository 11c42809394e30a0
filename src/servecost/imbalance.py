"""Expert-load imbalance at wide expert parallelism: the busiest rank sets the MoE layer's time.

With tokens routed unevenly, rank r gets n_r of the layer's tokens and the layer waits for the
largest, so the expert time is gamma = max_r n_r / mean_r n_r times the uniform-routing figure
(the 'balancedness' vLLM's EPLB logs, max/mean tokens per rank per MoE layer:
github.com/vllm-project/vllm/pull/39178, 2026-04-07).
    gamma(ep) = min(1 + c log2(ep), gamma_max)
Without rebalancing, c = 0.11: at EP8 an EPLB that replicates the hot experts raised DeepSeek-V4-Pro
prefill throughput by 34% over no EPLB on 8 MI355 (github.com/ROCm/ATOM/pull/1210, 2026), i.e.
gamma(8) ~ 1.33; the cap 1.5 is the top of the 1.2-1.5 max/mean commonly quoted at EP 64-128
(an estimate). With rebalancing (DeepSeek's EPLB, redundant experts: github.com/deepseek-ai/EPLB,
2025-02), c = 0.02, an estimate: most of the imbalance recovered, some left from load drifting
between rebalances.
"""

import numpy as np

SLOPE_RAW = 0.11        # per doubling of EP, no rebalancing (ATOM PR 1210 at EP8)
SLOPE_REBALANCED = 0.02  # estimate, EPLB with redundant experts
GAMMA_MAX = 1.5          # estimate: top of the 1.2-1.5 range at EP 64-128


def imbalance(ep, rebalanced: bool = True):
    """gamma, max/mean expert tokens per rank (1 at ep = 1)."""
    slope = SLOPE_REBALANCED if rebalanced else SLOPE_RAW
    ep = np.maximum(np.asarray(ep, dtype=float), 1.0)
    return np.minimum(1 + slope * np.log2(ep), GAMMA_MAX)
