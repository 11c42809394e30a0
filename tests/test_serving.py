"""Steady-state continuous batching (serving.aggregated), worked by hand on Llama-3.1-8B / H100."""

from dataclasses import replace

import numpy as np
import pytest

from servecost import hardware, memory, models
from servecost import params as P
from servecost.parallel import Parallel
from servecost.roofline import Precision, experts_touched, prefill_s, step
from servecost.serving import aggregated, mixed_steps_frac

BF16 = Precision()


def test_tpot_is_weights_plus_kv_over_bandwidth_with_the_prompts_chunked_in(llama8b, h100, ideal):
    """B=64 in flight, I=1000, O=500: 64/500 = 0.128 prompts start per step. The 8,192-token budget
    leaves 8,128 tokens beside the 64 decode tokens, so each prompt runs whole in one step: a share
    f = 0.128 of the steps is mixed, the rest decode alone.
    Decode step, memory-bound: weights 15.0 GB (embedding table excluded, a lookup) + KV read
    64 x 1250 tokens x 131,072 B = 10.5 GB + activations 64 tokens x (10 x 4096 + 3 x 14336) x 32
    layers x 2 B = 0.34 GB, over 3.35 TB/s = 4.48 + 3.13 + 0.10 = 7.71 ms.
    Mixed step, its GEMMs compute-bound: 2 x 1,064 tokens x 6.98e9 body params + 2 x 65 x 0.525e9
    LM head = 14.9 TFLOP / 989 TFLOP/s = 15.1 ms, plus the KV read 3.13 ms and the prompt's own
    attention 2 x 2 x 32 heads x 128 x 500,500 pairs x 32 layers = 0.26 TFLOP = 0.26 ms: 18.5 ms.
    TPOT = 0.128 x 18.5 + 0.872 x 7.71 = 9.09 ms."""
    weights_b = 2 * (P.total_params(llama8b) - P.embedding_params(llama8b))
    kv_b = 64 * 1250 * 2 * 8 * 128 * 2 * 32
    act_b = 64 * (10 * 4096 + 3 * 14336) * 32 * 2
    decode_s = (weights_b + kv_b + act_b) / h100.hbm_bytes_per_s
    assert decode_s == pytest.approx(7.71e-3, rel=0.01)
    body = P.total_params(llama8b) - P.embedding_params(llama8b) - P.lm_head_params(llama8b)
    gemm_s = 2 * (1064 * body + 65 * P.lm_head_params(llama8b)) / h100.bf16_flops_per_s
    prompt_attn_s = 2 * 2 * 32 * 128 * 500_500 * 32 / h100.bf16_flops_per_s
    mixed_s = gemm_s + kv_b / h100.hbm_bytes_per_s + prompt_attn_s
    assert mixed_s == pytest.approx(18.5e-3, rel=0.01)
    sp = aggregated(llama8b, h100, Parallel(), BF16, 64, 1000, 500, ideal)
    assert float(sp.tpot_s) == pytest.approx(0.128 * mixed_s + 0.872 * decode_s, rel=0.01)
    assert float(sp.output_tokens_per_s) == pytest.approx(64 / float(sp.tpot_s))


def test_a_share_of_the_steps_carries_the_prompts():
    """f = p S / chunk with chunk = min(N - B, S max(1, p)): a lone long prompt in the steps that run
    it; a budget the decode tokens fill leaves every step mixed (the prompts smeared)."""
    assert float(mixed_steps_frac(4 / 1000, 8000, 4)) == pytest.approx(0.004)     # one step per prompt
    assert float(mixed_steps_frac(4 / 1000, 20000, 4)) == pytest.approx(80 / 8188)   # three chunks each
    assert float(mixed_steps_frac(2.0, 1000, 64)) == pytest.approx(1.0)           # two prompts every step
    assert float(mixed_steps_frac(0.5, 1000, 8192)) == 1.0                         # no room: all steps mixed
    assert float(mixed_steps_frac(0.0, 1000, 64)) == 0.0


def test_low_concurrency_moe_wakes_few_experts_between_prompts():
    """DeepSeek-R1 at 4 in flight with 8k-token prompts: smearing 4/1000 prompts over every step wakes
    174 of 256 experts per layer per step; run as the scheduler runs them, 0.4% of the steps carry a
    prompt and the rest wake about 31, so TPOT comes out well below the smeared step's."""
    dsr1, h200 = models.get("deepseek-r1"), hardware.get("h200-sxm")
    par, prec = Parallel(tp=8, ep=8), Precision(weight="fp8", expert="fp8", kv="bf16")
    assert float(experts_touched(dsr1, 4 + 0.004 * 8000)) == pytest.approx(174, abs=1)
    assert float(experts_touched(dsr1, 4)) == pytest.approx(31, abs=1)
    sp = aggregated(dsr1, h200, par, prec, 4, 8000, 1000)
    smeared = step(dsr1, h200, par, prec, decode_seqs=4, context_tokens=8500, prefill_seqs=0.004,
                   prefill_tokens=8000).step_s
    assert float(sp.tpot_s) < 0.85 * float(smeared)


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


def test_cached_prefix_attention_by_hand(llama8b, h100, ideal):
    """2 prompts, 1,000 new tokens each over a 9,000-token cached prefix: 2 x 1000 x 9000 pairs x 32
    layers x (2 FLOPs x 32 heads x 2 x 128) = 9.4 TFLOP, at 989 TFLOP/s = 9.5 ms."""
    from servecost.prefix import attention_cross_s
    flops = 2 * 1000 * 9000 * 32 * (2 * 32 * 2 * 128)
    assert flops == pytest.approx(9.44e12, rel=0.01)
    t = float(attention_cross_s(llama8b, h100, Parallel(), BF16, 2, 1000, 9000, ideal))
    assert t == pytest.approx(flops / h100.flops_per_s("bf16"), rel=1e-9)


def test_prefix_hit_prefills_only_the_new_tokens(llama8b, h100, ideal):
    """h = 0.9 of 10,000 tokens: prefill(1,000) + their attention to the 9,000 cached; h = 0 is plain prefill."""
    from servecost.prefix import PrefixCache, attention_cross_s
    from servecost.serving import prompt_prefill_s
    warm = float(prompt_prefill_s(llama8b, h100, Parallel(), BF16, 1, 10_000, ideal, PrefixCache(0.9)))
    parts = float(prefill_s(llama8b, h100, Parallel(), BF16, 1, 1000, ideal)) \
        + float(attention_cross_s(llama8b, h100, Parallel(), BF16, 1, 1000, 9000, ideal))
    assert warm == pytest.approx(parts)
    cold = float(prompt_prefill_s(llama8b, h100, Parallel(), BF16, 1, 10_000, ideal))
    assert cold == pytest.approx(float(prefill_s(llama8b, h100, Parallel(), BF16, 1, 10_000, ideal)))
    assert warm < cold


def test_prefix_cache_holds_the_waiting_conversations_prefix(llama8b, h100):
    """The cached prefix costs KV memory: fewer sequences run at once than without a cache."""
    from servecost.prefix import PrefixCache
    from servecost.serving import _running
    cold = float(_running(llama8b, h100, Parallel(), BF16, 10_000, 8000, 500))
    warm = float(_running(llama8b, h100, Parallel(), BF16, 10_000, 8000, 500, PrefixCache(0.9)))
    assert warm == pytest.approx(np.floor(cold * 8250 / (8250 + 7200)), abs=1)


def test_prefill_pool_rate_by_its_own_step(kimi):
    """The searched prefill worker clears prompts_per_step prompts per step on chips_per_worker chips."""
    from servecost import hardware
    from servecost.search import prefill_pool
    pool = prefill_pool(kimi, hardware.get("b200"), Precision.native(kimi), 2000)
    assert pool.prompts_per_s_per_chip * pool.chips * pool.step_s == pytest.approx(pool.prompts_per_step)
    assert pool.chips <= hardware.get("b200").scaleup_domain_chips   # one NVLink node suffices
    assert pool.prompt_tokens_per_s_per_chip > 10_000


def test_disaggregated_pool_sized_to_the_decode_request_rate(kimi):
    """prefill chips per decode chip = (B / (O TPOT)) / (prompts/s per prefill chip) / decode chips."""
    from servecost import hardware
    from servecost.search import prefill_pool
    from servecost.serving import disaggregated
    b200, prec, par = hardware.get("b200"), Precision.native(kimi), Parallel(tp=1, dp_attn=32, ep=32)
    pool = prefill_pool(kimi, b200, prec, 2000)
    sp = disaggregated(kimi, b200, par, prec, 512, 2000, 500, pool=pool)
    rate = 512 / (500 * float(sp.tpot_s))
    assert float(sp.prefill_chips_frac) == pytest.approx(rate / pool.prompts_per_s_per_chip / 32)


def test_eagle3_draft_is_its_published_size(kimi):
    """One dense layer at Kimi K2's width plus its LM head: ~1.8e9 parameters, as NVIDIA's Kimi-K2.6 EAGLE-3 head."""
    from servecost.speculative import EAGLE3, MTP_ONE_DRAFT
    assert EAGLE3.draft_params(kimi) == pytest.approx(1.8e9, rel=0.1)
    assert EAGLE3.tokens_per_step == pytest.approx(2.62)
    assert MTP_ONE_DRAFT.tokens_per_step == pytest.approx(1.85)
    assert float(EAGLE3.draft_s(kimi, 1.0)) == pytest.approx(3 * EAGLE3.draft_params(kimi) / P.active_params(kimi))


def test_expert_imbalance_grows_with_ep_and_rebalancing_shrinks_it():
    from servecost.imbalance import imbalance
    raw = imbalance(np.array([1, 8, 64, 256]), rebalanced=False)
    assert raw[0] == 1 and raw[1] == pytest.approx(1.33) and np.all(np.diff(raw) >= 0) and raw[-1] <= 1.5
    assert np.all(imbalance(np.array([8, 64, 256])) < raw[1:])


def test_uneven_expert_load_slows_decode(kimi):
    from servecost import hardware
    from servecost.serving import decode_tpot_s
    b200, prec, par = hardware.get("b200"), Precision.native(kimi), Parallel(tp=1, dp_attn=64, ep=64)
    even = float(decode_tpot_s(kimi, b200, par, prec, 1024, 2000, 500, rebalanced=True))
    uneven = float(decode_tpot_s(kimi, b200, par, prec, 1024, 2000, 500, rebalanced=False))
    assert uneven > even
