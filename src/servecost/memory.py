"""Bytes held per chip: weights, KV cache / state, working memory; fit and maximum batch."""

import numpy as np

from . import params as P
from .dtypes import bytes_per_element
from .models import ModelSpec
from .parallel import Parallel

ACTIVATION_TOKENS = 8192      # tokens of one step's working activations (chunked-prefill budget)


def weight_bytes(m: ModelSpec, weight_dtype: str, expert_dtype: str) -> float:
    """All weights of the model in the given dtypes."""
    non_expert = P.total_params(m) - P.routed_expert_params(m)
    return non_expert * bytes_per_element(weight_dtype) + P.routed_expert_params(m) * bytes_per_element(expert_dtype)


def weight_bytes_per_chip(m: ModelSpec, par: Parallel, weight_dtype: str, expert_dtype: str):
    """Weights one chip holds. Attention is split tp ways (MLA's down-projections whole on every rank;
    replicated over attention-DP ranks),
    dense FFN, experts and vocabulary over all chips of a stage, layers over pp stages."""
    w, e = bytes_per_element(weight_dtype), bytes_per_element(expert_dtype)
    attention = P.attention_params_per_rank(m, par.tp) * w
    per_stage = (P.dense_ffn_params(m) + P.shared_expert_params(m) + P.router_params(m)) * w \
        + P.routed_expert_params(m) * e
    vocab = (P.embedding_params(m) + P.lm_head_params(m)) * w
    return (attention + per_stage / par.chips_per_stage) / par.pp + vocab / par.chips_per_stage / par.pp


def kv_shards(m: ModelSpec, par: Parallel):
    """Ways one sequence's KV is split across a stage's chips: KV heads split over TP ranks
    (replicated once tp exceeds them); MLA's latent is shared by all heads, so not split."""
    if m.attention == "mla":
        return np.ones_like(np.asarray(par.tp, dtype=float))
    return np.minimum(par.tp, m.n_kv_heads)


def kv_bytes_per_seq(m: ModelSpec, context_tokens, kv_dtype: str):
    """KV cache (and linear-attention state) of one sequence at `context_tokens`, all layers."""
    per_token_layer = P.kv_elements_per_token_layer(m) * bytes_per_element(kv_dtype)
    window_ctx = np.minimum(context_tokens, m.window_tokens) if m.n_window_layers else 0
    softmax = per_token_layer * (m.n_full_layers * context_tokens + m.n_window_layers * window_ctx)
    state = m.n_linear_layers * P.linear_state_elements_per_layer(m) * bytes_per_element(kv_dtype)
    return softmax + state


def kv_bytes_per_chip(m: ModelSpec, par: Parallel, batch, context_tokens, kv_dtype: str):
    """KV one chip holds for `batch` sequences per replica."""
    return batch * kv_bytes_per_seq(m, context_tokens, kv_dtype) / (kv_shards(m, par) * par.dp_attn * par.pp)


def activation_bytes_per_chip(m: ModelSpec, par: Parallel, act_dtype: str = "bf16"):
    """Working activations for one step's token budget (hidden states and FFN intermediates)."""
    widest = max(m.dense_ffn_dim, m.moe_ffn_dim * max(m.experts_per_token, 1), m.d_model * 4)
    return ACTIVATION_TOKENS * (2 * m.d_model + widest) * bytes_per_element(act_dtype) / par.chips_per_stage


def free_bytes_per_chip(m: ModelSpec, mem_bytes: float, par: Parallel, weight_dtype: str, expert_dtype: str):
    """Bytes left for KV after weights and working memory (negative: the weights do not fit).
    `mem_bytes`: what the runtime gives to the model (Accelerator.mem_bytes: capacity less the
    family's reserve)."""
    return mem_bytes - weight_bytes_per_chip(m, par, weight_dtype, expert_dtype) \
        - activation_bytes_per_chip(m, par)


def max_batch(m: ModelSpec, mem_bytes: float, par: Parallel, context_tokens, weight_dtype: str,
              expert_dtype: str, kv_dtype: str):
    """Largest batch of sequences at `context_tokens` whose KV fits beside the weights (0: none)."""
    free = free_bytes_per_chip(m, mem_bytes, par, weight_dtype, expert_dtype)
    per_seq = kv_bytes_per_chip(m, par, 1, context_tokens, kv_dtype)
    return np.floor(np.maximum(free, 0) / per_seq)
