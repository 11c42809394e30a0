"""Parameter counts per component, and KV / state elements per token, from a ModelSpec.

Counts are weight-matrix elements; norms and biases (< 0.1% of any catalogue model) are left out.
Every FFN is gated (SwiGLU / GeGLU): gate, up and down projections, hence the 3.
"""

from .models import ModelSpec

GATED_FFN_MATRICES = 3  # gate, up, down


def softmax_attention_params(m: ModelSpec) -> float:
    """Weights of one softmax-attention layer (MLA or GQA)."""
    d, H = m.d_model, m.n_heads
    if m.attention == "mla":
        qk_dim = m.qk_nope_head_dim + m.qk_rope_head_dim
        q = d * m.q_lora_rank + m.q_lora_rank * H * qk_dim if m.q_lora_rank else d * H * qk_dim
        kv_down = d * (m.kv_lora_rank + m.qk_rope_head_dim)           # shared latent + rope key
        kv_up = m.kv_lora_rank * H * (m.qk_nope_head_dim + m.v_head_dim)
        out = H * m.v_head_dim * d
        indexer = (d * m.index_n_heads * m.index_head_dim + d * m.index_head_dim
                   if m.sparse_topk_tokens else 0)                     # DSA lightning indexer q, k
        return q + kv_down + kv_up + out + indexer
    gate = 2 if m.attn_output_gate else 1
    q = d * H * m.head_dim * gate
    kv = 2 * d * m.n_kv_heads * m.head_dim  # 2: K and V
    out = H * m.head_dim * d
    return q + kv + out


def linear_attention_params(m: ModelSpec) -> float:
    """Weights of one Gated-DeltaNet (linear attention) layer."""
    if not m.n_linear_layers:
        return 0.0
    d = m.d_model
    qk = m.linear_key_heads * m.linear_key_head_dim
    v = m.linear_value_heads * m.linear_value_head_dim
    in_proj = d * (2 * qk + 2 * v)            # q, k, v and the output gate z
    in_ba = d * 2 * m.linear_value_heads      # beta and alpha per value head
    conv = (2 * qk + v) * m.linear_conv_kernel
    out = v * d
    return in_proj + in_ba + conv + out


def attention_params(m: ModelSpec) -> float:
    """All attention weights of the model."""
    return m.n_softmax_layers * softmax_attention_params(m) + m.n_linear_layers * linear_attention_params(m)


def replicated_attention_params(m: ModelSpec) -> float:
    """Attention weights every tensor-parallel rank holds whole: MLA's down-projections (the query
    latent's and the shared KV latent's with its rope key), which vLLM and SGLang build as
    ReplicatedLinear (vllm and sglang models/deepseek_v2.py: q_a_proj, kv_a_proj_with_mqa)."""
    if m.attention != "mla":
        return 0.0
    q_down = m.d_model * m.q_lora_rank if m.q_lora_rank else 0.0
    return m.n_softmax_layers * (q_down + m.d_model * (m.kv_lora_rank + m.qk_rope_head_dim))


def attention_params_per_rank(m: ModelSpec, tp):
    """Attention weights one tensor-parallel rank holds: the sharded ones over tp, the replicated whole."""
    replicated = replicated_attention_params(m)
    return (attention_params(m) - replicated) / tp + replicated


def dense_ffn_params(m: ModelSpec) -> float:
    return m.n_dense_layers * GATED_FFN_MATRICES * m.d_model * m.dense_ffn_dim


def expert_params_each(m: ModelSpec) -> float:
    """Weights of one routed expert in one layer."""
    return GATED_FFN_MATRICES * m.d_model * m.moe_ffn_dim


def routed_expert_params(m: ModelSpec) -> float:
    return m.n_moe_layers * m.n_experts * expert_params_each(m)


def shared_expert_params(m: ModelSpec) -> float:
    return m.n_moe_layers * m.n_shared_experts * GATED_FFN_MATRICES * m.d_model * m.shared_ffn_dim


def router_params(m: ModelSpec) -> float:
    return m.n_moe_layers * m.d_model * m.n_experts


def embedding_params(m: ModelSpec) -> float:
    return m.vocab_size * m.d_model


def lm_head_params(m: ModelSpec) -> float:
    return 0.0 if m.tie_embeddings else m.vocab_size * m.d_model


def dense_params(m: ModelSpec) -> float:
    """Weights every token uses (attention, dense FFN, shared experts, router, lm_head), no embedding."""
    return attention_params(m) + dense_ffn_params(m) + shared_expert_params(m) + router_params(m) \
        + lm_head_params(m)


def total_params(m: ModelSpec) -> float:
    """All weights of the language model, MTP modules excluded (as model cards count)."""
    return dense_params(m) + routed_expert_params(m) + embedding_params(m)


def active_params(m: ModelSpec) -> float:
    """Weights one token uses: total less the routed experts it does not pick."""
    return dense_params(m) + m.n_moe_layers * m.experts_per_token * expert_params_each(m) \
        + embedding_params(m)


def kv_elements_per_token_layer(m: ModelSpec) -> float:
    """KV-cache elements one token adds to one softmax-attention layer."""
    if m.attention == "mla":
        index_keys = m.index_head_dim if m.sparse_topk_tokens else 0
        return m.kv_lora_rank + m.qk_rope_head_dim + index_keys   # compressed latent + rope key
    return 2 * m.n_kv_heads * m.head_dim  # 2: K and V


def linear_state_elements_per_layer(m: ModelSpec) -> float:
    """Recurrent state of one linear-attention layer for one sequence (fixed, not per token)."""
    qk = m.linear_key_heads * m.linear_key_head_dim
    v = m.linear_value_heads * m.linear_value_head_dim
    recurrent = m.linear_value_heads * m.linear_key_head_dim * m.linear_value_head_dim
    conv = (2 * qk + v) * max(m.linear_conv_kernel - 1, 0)
    return recurrent + conv
