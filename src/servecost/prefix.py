"""Prefix caching: the share of prompt tokens served from the KV cache skips prefill compute.

A request of I prompt tokens of which a share h hits the cache computes only S = (1 - h) I new
tokens; each of them attends to the P = h I cached tokens as well as to the new ones before it:
    t_prefill(I, h) = prefill(S tokens) + attention(S x P query-key pairs)
(the first term is roofline.prefill_s; the cross term is attention_cross_s). A hit needs its
prefix's KV still held when the request arrives: each conversation keeps L_c cached tokens
(default h I) between its turns, and while one turn runs another conversation waits for its next
turn (RETAINED_PER_RUNNING), so a running sequence needs KV for I + O/2 + RETAINED * L_c tokens.
"""

from dataclasses import dataclass

import numpy as np

from .efficiency import DEFAULT, Efficiency
from .errors import InputError
from .hardware import Accelerator
from .models import ModelSpec
from .parallel import Parallel
from .roofline import Precision, _attended_tokens, _attn_flops_per_query_key

# Estimate: one idle conversation's cached prefix held per running request (think time about equal
# to generation time); engines evict older prefixes to CPU/SSD tiers (Mooncake, LMCache), not counted.
RETAINED_PER_RUNNING = 1.0


@dataclass(frozen=True)
class PrefixCache:
    hit_frac: float = 0.0            # h: share of prompt tokens served from the cache
    cached_tokens: float = 0.0       # L_c: prefix KV each conversation keeps between turns (0: h * I)

    def computed_tokens(self, input_tokens):
        """S = (1 - h) I prompt tokens a request still prefills (at least one)."""
        return np.maximum(np.asarray(input_tokens, dtype=float) * (1 - self.hit_frac), 1.0)

    def cached_prefix_tokens(self, input_tokens):
        """P = I - S tokens read from the cache."""
        return np.asarray(input_tokens, dtype=float) - self.computed_tokens(input_tokens)

    def held_tokens(self, input_tokens):
        """L_c, the cached prefix a conversation keeps between turns."""
        return self.cached_tokens or float(np.asarray(input_tokens, dtype=float) * self.hit_frac)

    def memory_context_tokens(self, input_tokens, output_tokens):
        """Tokens of KV one running sequence accounts for: its context and a waiting conversation's prefix."""
        return input_tokens + output_tokens / 2 + (RETAINED_PER_RUNNING * self.held_tokens(input_tokens)
                                                   if self.hit_frac else 0.0)


NO_CACHE = PrefixCache()


def check(hit_frac: float, cached_tokens: float = 0.0, input_tokens: float | None = None) -> PrefixCache:
    """A validated PrefixCache; InputError names the field, the limit and a fix."""
    if not 0.0 <= hit_frac <= 1.0 or hit_frac != hit_frac:
        raise InputError(f"prefix_cache_hit={hit_frac!r} must be between 0 and 1 (share of prompt tokens "
                         "served from the cache); e.g. 0.9")
    if cached_tokens < 0:
        raise InputError(f"prefix_tokens={cached_tokens!r} must be >= 0 (0: hit rate x input tokens)")
    if input_tokens is not None and cached_tokens and hit_frac * input_tokens > cached_tokens:
        raise InputError(f"prefix_tokens={cached_tokens:g} is shorter than the {hit_frac * input_tokens:,.0f} "
                         f"cached tokens a request reuses (hit {hit_frac:g} x {input_tokens:g} input); "
                         "raise it or leave 0")
    return PrefixCache(float(hit_frac), float(cached_tokens))


def attention_cross_s(m: ModelSpec, hw: Accelerator, par: Parallel, prec: Precision, prompts, new_tokens,
                      cached_tokens, eff: Efficiency = DEFAULT, spread_over_dp: bool = True):
    """Attention of `prompts` prompts' S new tokens to their P cached ones, compute-bound:
        t = n S keys(P) c_qk / (tp dp C_attn eff_attn)       (keys: per softmax layer, windows capped)
    The layers split over pp stages run in turn, so stages add up and pp cancels."""
    dp = np.asarray(par.dp_attn, dtype=float) if spread_over_dp else 1.0
    pairs = np.asarray(prompts, dtype=float) * np.asarray(new_tokens, dtype=float) * _attended_tokens(m, cached_tokens)
    flops = pairs * _attn_flops_per_query_key(m, decode=False) / (np.asarray(par.tp, dtype=float) * dp)
    return np.where(np.asarray(cached_tokens) > 0, flops / (hw.flops_per_s(prec.act) * eff.attn_flops_frac), 0.0)
