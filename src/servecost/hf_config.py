"""A Hugging Face config.json -> ModelSpec: bounded, checked, parsed (catalogue entries, --model PATH,
a pasted `config`)."""

import json
from pathlib import Path

from .dtypes import canonical
from .errors import InputError, refuse_special_file
from .errors import short as errors_short
from .model_spec import ModelSpec

CUSTOM_ID = "custom"   # the id of a pasted config.json
# Architectures whose transformers config class ties the embeddings unless the config.json says
# otherwise (GemmaConfig(tie_word_embeddings=True), huggingface/transformers models/gemma*; Llama-class
# configs default to False); Gemma's config.json files leave the key out.
TIED_BY_DEFAULT = ("gemma", "gemma2", "gemma3", "gemma3_text")


def _first(cfg: dict, *keys, default=None):
    for key in keys:
        if cfg.get(key) is not None:
            return cfg[key]
    return default


def _require(cfg: dict, source: str, *keys):
    value = _first(cfg, *keys)
    if value is None:
        raise InputError(f"config {source}: missing key {keys[0]!r}"
                         f"{' (or ' + ', '.join(map(repr, keys[1:])) + ')' if len(keys) > 1 else ''}; "
                         "a Hugging Face config.json of a decoder-only LM has it")
    return value


def _layer_pattern(cfg: dict, n_layers: int) -> dict:
    """Counts of full / sliding-window / linear-attention layers and the window size."""
    types = cfg.get("layer_types")
    window = cfg.get("sliding_window") if cfg.get("use_sliding_window", True) else None
    if types:
        n_linear = sum(t in ("linear_attention", "mamba", "gated_deltanet") for t in types)
        n_window = sum(t in ("sliding_attention", "chunked_attention") for t in types)
        return dict(n_linear_layers=n_linear, n_window_layers=n_window if window else 0,
                    n_full_layers=len(types) - n_linear - (n_window if window else 0),
                    window_tokens=int(window or 0))
    if cfg.get("full_attention_interval"):   # Qwen3-Next: every k-th layer is softmax attention
        n_full = n_layers // int(cfg["full_attention_interval"])
        return dict(n_full_layers=n_full, n_linear_layers=n_layers - n_full)
    if cfg.get("attention_chunk_size"):       # Llama 4: chunked local attention, NoPE layers global
        no_rope = cfg.get("no_rope_layers") or [int((i + 1) % 4 != 0) for i in range(n_layers)]
        n_chunked = sum(1 for flag in no_rope if flag)
        return dict(n_window_layers=n_chunked, n_full_layers=n_layers - n_chunked,
                    window_tokens=int(cfg["attention_chunk_size"]))
    if window and cfg.get("max_window_layers") is None and cfg.get("model_type") in ("mistral", "gemma2"):
        return dict(n_window_layers=n_layers, window_tokens=int(window))
    return dict(n_full_layers=n_layers)


def _moe_layers(cfg: dict, n_layers: int, n_experts: int) -> int:
    if not n_experts:
        return 0
    if cfg.get("moe_layers") is not None:
        return len(cfg["moe_layers"])
    if cfg.get("interleave_moe_layer_step"):
        step = int(cfg["interleave_moe_layer_step"])
        return sum(1 for i in range(n_layers) if (i + 1) % step == 0)
    if cfg.get("mlp_only_layers") or (cfg.get("decoder_sparse_step") or 1) != 1:
        step, dense = int(cfg.get("decoder_sparse_step") or 1), set(cfg.get("mlp_only_layers") or [])
        return sum(1 for i in range(n_layers) if i not in dense and (i + 1) % step == 0)
    first_dense = min(max(int(_first(cfg, "first_k_dense_replace", "first_k_dense", default=0)), 0), n_layers)
    freq = int(cfg.get("moe_layer_freq") or 1)
    if freq < 1:
        raise InputError(f"config: moe_layer_freq={freq} must be at least 1")
    return sum(1 for i in range(first_dense, n_layers) if i % freq == 0)


def _native_dtypes(cfg: dict) -> tuple[str, str]:
    """(non-expert, routed-expert) weight dtypes as released, from quantization_config."""
    base = canonical(str(_first(cfg, "torch_dtype", "dtype", default="bfloat16")))
    base = "bf16" if base == "fp32" else base
    quant = cfg.get("quantization_config") or {}     # an object: check_config
    method = str(quant.get("quant_method", "")).lower()
    if method == "fp8" or quant.get("fmt") == "e4m3":
        return "fp8", "fp8"
    if method == "mxfp4":
        return base, "mxfp4"
    if "nvfp4" in json.dumps(quant).lower():
        return "nvfp4", "nvfp4"
    if method == "compressed-tensors":
        groups = quant.get("config_groups") or {}
        bits = {g.get("weights", {}).get("num_bits") for g in groups.values()}
        if 4 in bits:
            return base, "int4"
        if 8 in bits:
            return "fp8", "fp8"
    return base, base


MAX_LAYERS = 10_000   # the parser walks the layers: bound them before it does
MAX_DIM = 10_000_000           # any one size of a config.json (width, vocabulary, experts, heads)
MAX_CONTEXT = 1_000_000_000    # context lengths and windows (Llama 4 Scout: 10,485,760)
MAX_PARAMS = 100e12            # 100T parameters
MAX_CONFIG_KEYS = 500          # keys of a config.json (the catalogue's have under 80)
MAX_CONFIG_DEPTH = 16          # objects in objects (a config.json nests 3 or 4)
MAX_CONFIG_BYTES = 1_000_000   # a config.json file (the catalogue's are under 10 kB)
POSITIVE_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "hidden_size", "n_embd", "d_model",
                 "num_attention_heads", "n_head", "vocab_size", "num_key_value_heads", "n_kv_heads", "head_dim",
                 "decoder_sparse_step", "moe_layer_freq", "interleave_moe_layer_step", "full_attention_interval")
COUNT_KEYS = POSITIVE_KEYS + (
    "n_routed_experts", "num_local_experts", "num_experts", "moe_num_experts", "moe_intermediate_size",
    "intermediate_size", "intermediate_size_mlp", "ffn_dim", "shared_expert_intermediate_size", "n_shared_experts",
    "num_shared_experts", "num_experts_per_tok", "experts_per_token", "moe_top_k", "q_lora_rank", "kv_lora_rank",
    "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "index_topk", "index_head_dim", "index_n_heads",
    "linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim",
    "linear_conv_kernel_dim", "num_nextn_predict_layers", "num_mtp_modules", "first_k_dense_replace", "first_k_dense")
LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "first_k_dense_replace", "first_k_dense")
CONTEXT_KEYS = ("max_position_embeddings", "max_sequence_length", "sliding_window", "attention_chunk_size")
LIST_KEYS = ("layer_types", "moe_layers", "mlp_only_layers", "no_rope_layers")


def nesting(value, depth: int = 0) -> int:
    """How deep objects and lists nest in `value`, counted up to MAX_CONFIG_DEPTH + 1."""
    if depth > MAX_CONFIG_DEPTH or not isinstance(value, (dict, list)):
        return depth
    return max((nesting(v, depth + 1) for v in (value.values() if isinstance(value, dict) else value)),
               default=depth + 1)


def check_config(cfg: dict, source: str) -> None:
    """InputError naming the key for a config.json the parser cannot take: too big or deep, a size that
    is not a whole number in range (booleans, NaN, inf, strings, negatives), a quantization_config that
    is not an object. The same checks for a file (--model PATH) and a pasted object (the API)."""
    if len(cfg) > MAX_CONFIG_KEYS:
        raise InputError(f"config {source}: {len(cfg)} keys; a config.json has far fewer than {MAX_CONFIG_KEYS}")
    if nesting(cfg) > MAX_CONFIG_DEPTH:
        raise InputError(f"config {source}: nests objects or lists over {MAX_CONFIG_DEPTH} deep; a config.json "
                         "does not")
    for key in COUNT_KEYS + CONTEXT_KEYS:
        high = MAX_CONTEXT if key in CONTEXT_KEYS else MAX_LAYERS if key in LAYER_KEYS else MAX_DIM
        _check_count(cfg.get(key), key, source, 1 if key in POSITIVE_KEYS else 0, high)
    for key in LIST_KEYS:
        value = cfg.get(key)
        if value is not None and not (isinstance(value, list) and len(value) <= MAX_LAYERS):
            raise InputError(f"config {source}: {key} must be a list of at most {MAX_LAYERS:,} entries (one per layer)")
    for key in ("mlp_only_layers", "moe_layers"):
        for v in cfg.get(key) or ():
            _check_count(v, key, source, 0, MAX_LAYERS)
    quant = cfg.get("quantization_config")
    if quant is not None and not isinstance(quant, dict):
        raise InputError(f"config {source}: quantization_config={short(quant)} must be an object "
                         "(e.g. {\"quant_method\": \"fp8\"}) or absent")
    groups = (quant or {}).get("config_groups")
    if groups is not None and not (isinstance(groups, dict) and all(isinstance(g, dict) and
                                                                    isinstance(g.get("weights", {}), dict)
                                                                    for g in groups.values())):
        raise InputError(f"config {source}: quantization_config.config_groups must map names to objects")


def _check_count(value, key: str, source: str, low: int, high: float) -> None:
    if value is None:
        return
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or not low <= value <= high:
        raise InputError(f"config {source}: {key}={short(value)} must be a whole number from {low} to {high:,.0f}")


def check_spec(m: ModelSpec, source: str) -> ModelSpec:
    """InputError for a parsed model that is not a model: more experts per token than experts, a size out
    of range, over MAX_PARAMS parameters."""
    from dataclasses import fields

    from .params import total_params
    for f in fields(m):
        value = getattr(m, f.name)
        if f.type is int and not 0 <= value <= MAX_CONTEXT:
            raise InputError(f"config {source}: {f.name}={value} is outside 0..{MAX_CONTEXT:,}")
    for name in ("n_layers", "d_model", "vocab_size", "n_heads", "n_kv_heads", "head_dim"):
        if getattr(m, name) < 1:
            raise InputError(f"config {source}: {name}={getattr(m, name)} must be at least 1")
    if m.n_experts and not 1 <= m.experts_per_token <= m.n_experts:
        raise InputError(f"config {source}: experts per token ({m.experts_per_token}) must be 1..{m.n_experts} "
                         "(the experts); set num_experts_per_tok")
    if m.n_kv_heads > m.n_heads:
        raise InputError(f"config {source}: num_key_value_heads={m.n_kv_heads} is over num_attention_heads="
                         f"{m.n_heads}; give at most that many")
    if total_params(m) > MAX_PARAMS:
        raise InputError(f"config {source}: {total_params(m) / 1e12:,.0f}T parameters; at most "
                         f"{MAX_PARAMS / 1e12:.0f}T: check the sizes")
    return m


def short(value, limit: int = 40) -> str:
    """errors.short at the config messages' 40 characters."""
    return errors_short(value, limit)


def from_hf_config(cfg: dict, model_id: str = "custom", source: str = "config.json") -> ModelSpec:
    """Parse a Hugging Face config.json (dict) into a ModelSpec; InputError names a missing key."""
    if not isinstance(cfg, dict):
        raise InputError(f"config {source}: expected a JSON object, got {type(cfg).__name__}")
    if isinstance(cfg.get("text_config"), dict):   # multimodal wrapper: the language model is inside
        outer = {k: v for k, v in cfg.items() if k != "text_config"}
        cfg = {**outer, **cfg["text_config"]}
    check_config(cfg, source)
    return check_spec(_parse(cfg, model_id, source), source)


def _parse(cfg: dict, model_id: str, source: str) -> ModelSpec:
    n_layers_raw = _require(cfg, source, "num_hidden_layers", "n_layer", "num_layers")
    if not isinstance(n_layers_raw, (int, float)) or not 0 < n_layers_raw <= MAX_LAYERS:
        raise InputError(f"config {source}: num_hidden_layers={n_layers_raw!r} must be a number 1..{MAX_LAYERS:,}")
    n_layers = int(n_layers_raw)
    d_model = int(_require(cfg, source, "hidden_size", "n_embd", "d_model"))
    n_heads = int(_require(cfg, source, "num_attention_heads", "n_head"))
    vocab = int(_require(cfg, source, "vocab_size"))
    n_kv = int(_first(cfg, "num_key_value_heads", "n_kv_heads", default=n_heads))
    head_dim = int(_first(cfg, "head_dim", default=d_model // n_heads))
    n_experts = int(_first(cfg, "n_routed_experts", "num_local_experts", "num_experts", "moe_num_experts",
                           default=0) or 0)
    n_moe = _moe_layers(cfg, n_layers, n_experts)
    is_mla = cfg.get("kv_lora_rank") is not None
    moe_ffn = int(_first(cfg, "moe_intermediate_size", "intermediate_size", default=0) if n_experts else 0)
    dense_ffn = int(_first(cfg, "intermediate_size_mlp", "intermediate_size", "ffn_dim", default=0) or 0)
    if n_moe == n_layers:
        dense_ffn = 0
    elif n_experts and not dense_ffn:
        raise InputError(f"config {source}: missing key 'intermediate_size' for its dense layers")
    shared_dim = int(_first(cfg, "shared_expert_intermediate_size", default=0) or 0)
    n_shared = int(_first(cfg, "n_shared_experts", "num_shared_experts", default=0) or 0)
    if shared_dim and not n_shared:
        n_shared = 1
    if cfg.get("model_type") in ("llama4", "llama4_text") and n_experts:
        n_shared, shared_dim = 1, moe_ffn              # Llama 4: one shared expert per MoE layer
    if n_shared and not shared_dim:
        shared_dim = moe_ffn
    weight_dtype, expert_dtype = _native_dtypes(cfg)
    if not n_experts:
        expert_dtype = weight_dtype
    return ModelSpec(
        id=model_id, name=str(cfg.get("_name_or_path") or model_id),
        n_layers=n_layers, d_model=d_model, vocab_size=vocab,
        tie_embeddings=bool(cfg.get("tie_word_embeddings", cfg.get("model_type") in TIED_BY_DEFAULT)),
        attention="mla" if is_mla else "gqa", n_heads=n_heads,
        n_kv_heads=n_heads if is_mla else n_kv, head_dim=head_dim,
        attn_output_gate=bool(cfg.get("attn_output_gate", False)),
        q_lora_rank=int(cfg.get("q_lora_rank") or 0), kv_lora_rank=int(cfg.get("kv_lora_rank") or 0),
        qk_nope_head_dim=int(cfg.get("qk_nope_head_dim") or 0),
        qk_rope_head_dim=int(cfg.get("qk_rope_head_dim") or 0),
        v_head_dim=int(cfg.get("v_head_dim") or 0),
        sparse_topk_tokens=int(cfg.get("index_topk") or 0),
        index_head_dim=int(cfg.get("index_head_dim") or 0),
        index_n_heads=int(cfg.get("index_n_heads") or 0),
        **_layer_pattern(cfg, n_layers),
        linear_key_heads=int(cfg.get("linear_num_key_heads") or 0),
        linear_value_heads=int(cfg.get("linear_num_value_heads") or 0),
        linear_key_head_dim=int(cfg.get("linear_key_head_dim") or 0),
        linear_value_head_dim=int(cfg.get("linear_value_head_dim") or 0),
        linear_conv_kernel=int(cfg.get("linear_conv_kernel_dim") or 0),
        n_dense_layers=n_layers - n_moe, dense_ffn_dim=dense_ffn,
        n_moe_layers=n_moe, n_experts=n_experts,
        experts_per_token=int(_first(cfg, "num_experts_per_tok", "experts_per_token", "moe_top_k",
                                     default=0) or 0),
        n_shared_experts=n_shared, moe_ffn_dim=moe_ffn, shared_ffn_dim=shared_dim,
        weight_dtype=weight_dtype, expert_dtype=expert_dtype,
        mtp_layers=int(_first(cfg, "num_nextn_predict_layers", "num_mtp_modules", default=0) or 0),
        max_context_tokens=int(_first(cfg, "max_position_embeddings", "max_sequence_length", default=0) or 0),
    )


def load_config_file(path: str | Path, field: str = "model") -> ModelSpec:
    """Read a config.json file into a ModelSpec; InputError for a missing or malformed file."""
    path = Path(path)
    try:
        refuse_special_file(path, field, "the path of a config.json")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise InputError(f"{field}={short(str(path), 80)}: {path.stat().st_size:,} bytes; a config.json is "
                             f"a few kB (at most {MAX_CONFIG_BYTES:,})")
        cfg = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{field}={short(str(path), 80)}: no such file; give a catalogue id "
                         "(`servecost models`) or a path to a config.json") from None
    except IsADirectoryError:
        raise InputError(f"{field}={short(str(path), 80)} is a folder; give the path of its config.json") from None
    except PermissionError:
        raise InputError(f"{field}={short(str(path), 80)} cannot be read (permission denied)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{field}={short(str(path), 80)} is not valid JSON ({str(exc)[:80]}); "
                         "give a Hugging Face config.json") from None
    except OSError as exc:
        raise InputError(f"{field}={short(str(path), 80)} cannot be read ({exc.strerror}); give a catalogue id "
                         "or a path to a config.json") from None
    except RecursionError:
        raise InputError(f"{field}={short(str(path), 80)} nests deeper than a config.json does") from None
    try:
        return from_hf_config(cfg, model_id=path.stem, source=str(path))
    except InputError:
        raise
    except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, RecursionError) as exc:
        raise InputError(f"{field}={short(str(path), 80)}: not a usable Hugging Face config.json "
                         f"({type(exc).__name__}: {str(exc)[:80]})") from None


def from_pasted(config: dict) -> ModelSpec:
    """The ModelSpec of a pasted config.json, with the bounds a --model PATH gets (check_config,
    check_spec); InputError naming `config` for anything unusable."""
    try:
        return from_hf_config(config, CUSTOM_ID, source="(pasted)")
    except InputError:
        raise
    except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, RecursionError) as exc:
        raise InputError(f"config: not a usable Hugging Face config.json ({str(exc)[:80]})") from None
