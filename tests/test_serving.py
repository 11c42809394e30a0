"""Steady-state continuous batching (serving.aggregated), worked by hand on Llama-3.1-8B / H100."""

from dataclasses import replace

import pytest

from servecost import memory
from servecost import params as P
from servecost.parallel import Parallel
from servecost.roofline import Precision, prefill_s
from servecost.serving import aggregated

BF16 = Precision()


def test_tpot_is_weights_plus_kv_over_bandwidth(llama8b, h100, ideal):
    """B=64 in flight, I=1000, O=500: each step decodes 64 tokens and prefills 64/500 prompts
    (128 tokens). Memory-bound: weights 15.0 GB (embedding table excluded, a lookup) + KV read
    64 x 1250 tokens x 131,072 B = 10.5 GB + activations 192 tokens x (10 x 4096 + 3 x 14336) x 32
    layers x 2 B = 1.0 GB, over 3.35 TB/s = 4.48 + 3.13 + 0.31 = 7.92 ms. The math,
    2 x 192 tokens x 7.5e9 = 2.9 TFLOP = 2.9 ms, hides under the reads."""
    weights_b = 2 * (P.total_params(llama8b) - P.embedding_params(llama8b))
    kv_b = 64 * 1250 * 2 * 8 * 128 * 2 * 32
    act_b = 192 * (10 * 4096 + 3 * 14336) * 32 * 2
    by_hand_s = (weights_b + kv_b + act_b) / h100.hbm_bytes_per_s
    assert by_hand_s == pytest.approx(7.92e-3, rel=0.01)
    sp = aggregated(llama8b, h100, Parallel(), BF16, 64, 1000, 500, ideal)
    assert float(sp.tpot_s) == pytest.approx(by_hand_s, rel=0.01)   # + the prefill's KV writes (17 MB)
    assert float(sp.output_tokens_per_s) == pytest.approx(64 / float(sp.tpot_s))


def test_ttft_is_overhead_lone_prefill_queue_share_and_a_step(llama8b, h100, ideal):
    eff = replace(ideal, ttft_overhead_s=0.05, prefill_queue_frac=0.5)
    sp = aggregated(llama8b, h100, Parallel(), BF16, 16, 2000, 200, eff)
    lone = float(prefill_s(llama8b, h100, Parallel(), BF16, 1, 2000, eff))
    wave = float(prefill_s(llama8b, h100, Parallel(), BF16, 16, 2000, eff))
    assert float(sp.ttft_s) == pytest.approx(0.05 + lone + 0.5 * (wave - lone) + float(sp.tpot_s))


def test_requests_beyond_the_kv_cache_wait_by_littles_law(llama8b, h100, ideal):
    """c requests, B fit: the c - B others wait W = (c - B) / X with X = B / E2E."""
    slots = float(memory.max_batch(llama8b, h100.mem_bytes, Parallel(), 8000 + 500, "bf16", "bf16", "bf16"))
    c = slots * 2
    sp = aggregated(llama8b, h100, Parallel(), BF16, c, 8000, 1000, ideal)
    fit = aggregated(llama8b, h100, Parallel(), BF16, slots, 8000, 1000, ideal)
    e2e = float(fit.ttft_s) + 999 * float(fit.tpot_s)
    assert float(sp.tpot_s) == pytest.approx(float(fit.tpot_s))
    assert float(sp.ttft_s) == pytest.approx(float(fit.ttft_s) + (c - slots) / slots * e2e)
