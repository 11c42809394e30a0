"""ModelSpec: the architecture numbers that set FLOPs, bytes and memory."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    name: str
    n_layers: int
    d_model: int
    vocab_size: int
    tie_embeddings: bool
    # softmax attention
    attention: str                   # "gqa" (MHA/GQA/MQA) or "mla"
    n_heads: int
    n_kv_heads: int
    head_dim: int
    attn_output_gate: bool = False   # Qwen3-Next style gate: q_proj twice as wide
    q_lora_rank: int = 0             # MLA
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    sparse_topk_tokens: int = 0      # DeepSeek sparse attention (DSA): keys read per query
    index_head_dim: int = 0          # its lightning indexer's key cache per token
    index_n_heads: int = 0
    # layer pattern
    n_full_layers: int = 0
    n_window_layers: int = 0
    window_tokens: int = 0
    n_linear_layers: int = 0         # Gated DeltaNet / linear attention: fixed state
    linear_key_heads: int = 0
    linear_value_heads: int = 0
    linear_key_head_dim: int = 0
    linear_value_head_dim: int = 0
    linear_conv_kernel: int = 0
    # feed-forward
    n_dense_layers: int = 0
    dense_ffn_dim: int = 0
    n_moe_layers: int = 0
    n_experts: int = 0
    experts_per_token: int = 0
    n_shared_experts: int = 0
    moe_ffn_dim: int = 0
    shared_ffn_dim: int = 0
    # release facts
    weight_dtype: str = "bf16"       # non-expert weights as released
    expert_dtype: str = "bf16"       # routed-expert weights as released
    mtp_layers: int = 0
    max_context_tokens: int = 0
    published_total_params: float = 0.0
    published_active_params: float = 0.0
    sources: str = ""

    @property
    def is_moe(self) -> bool:
        return self.n_moe_layers > 0

    @property
    def n_softmax_layers(self) -> int:
        return self.n_full_layers + self.n_window_layers
