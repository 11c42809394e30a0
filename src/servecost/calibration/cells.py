"""What every reader of measured runs shares: quant modes and engine names as files spell them, a
run's layout checks and skip reasons, and bounded readers of cells."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..dtypes import BYTES_PER_ELEMENT, canonical
from ..errors import InputError, suggest
from ..models import get as model_spec
from ..parallel import divisors
from .measured import Run

# Quant modes of the calibration (aiconfigurator) format -> servecost dtypes, by stored bytes per weight.
# The modes are every member of GEMMQuantMode, MoEQuantMode, FMHAQuantMode and KVCacheQuantMode in
# ai-dynamo/aiconfigurator aic-core/src/aiconfigurator_core/sdk/common.py
# (commit 6e0f132447c8f9f28c7817f8e25e328af46cd31f).
# Where a mode computes in another format than servecost's dtype does (the weight-only modes int8_wo,
# int4_wo, nvfp4_wo, w4a16_mxfp4* dequantise to bf16; w4afp8 and w4a8_mxfp4_mxfp8* compute in fp8), the
# compute follows dtypes.COMPUTE_FORMATS of the dtype: an approximation of those modes' prefill.
AIC_QUANT = {"bfloat16": "bf16", "float16": "bf16", "fp16": "bf16", "bf16": "bf16",
             "fp8": "fp8", "fp8_static": "fp8", "fp8_block": "fp8", "fp8_ootb": "fp8",
             "int8_wo": "int8", "sq": "int8", "int8": "int8",          # sq: SmoothQuant w8a8 int8
             "int4_wo": "int4", "w4afp8": "int4", "w4a16": "int4", "int4": "int4",
             "nvfp4": "nvfp4", "nvfp4_wo": "nvfp4", "fp4": "nvfp4",
             "mxfp4": "mxfp4", "w4a16_mxfp4": "mxfp4", "w4a16_mxfp4_cutlass": "mxfp4",
             "w4a8_mxfp4_mxfp8": "mxfp4", "w4a8_mxfp4_mxfp8_trtllm": "mxfp4",
             "fp8_e5m2": "fp8"}   # vLLM's --kv-cache-dtype also names the other fp8 encoding


def _int(value, default: int = 1) -> int:
    return default if pd.isna(value) or value == 0 else int(value)


def _quant(value) -> str | None:
    """servecost dtype of a quant mode or dtype name; "" for an empty cell or vLLM's "auto" (the model's
    own dtype), None if unknown."""
    if value is None or pd.isna(value) or str(value).strip().lower() in ("", "auto"):
        return ""
    name = str(value).strip().lower()
    if name in AIC_QUANT:
        return AIC_QUANT[name]
    try:
        return canonical(name)
    except InputError:
        return None


def _dtype_reasons(cells: dict) -> list[str]:
    """Why a row's dtype cells cannot be read: one reason per unknown mode (`cells`: column -> value)."""
    return [f"{column}={value!r} is not a quant mode servecost reads; give an aiconfigurator mode (fp8_block, "
            f"int4_wo, nvfp4, w4a16_mxfp4, ...) or one of {', '.join(BYTES_PER_ELEMENT)}"
            f"{suggest(str(value), dict.fromkeys([*AIC_QUANT, *BYTES_PER_ELEMENT]))}"
            for column, value in cells.items() if _quant(value) is None]


# Engine names as benchmark files spell them -> servecost's engine profiles (Dynamo runs the same engines).
ENGINE_ALIASES = {"trt": "trtllm", "tensorrt-llm": "trtllm", "tensorrt_llm": "trtllm", "dynamo-trt": "trtllm",
                  "dynamo-trtllm": "trtllm", "dynamo-sglang": "sglang", "dynamo-vllm": "vllm",
                  "mori-sglang": "sglang"}   # SGLang with AMD's MoRI KV transfer (InferenceX)


def _engine(name: str) -> str:
    key = name.strip().lower()
    return ENGINE_ALIASES.get(key, key)


def _moe_tp(ints: dict) -> int:
    """MoE tensor parallelism implied by a layout that names tp, attention dp and ep: the experts span
    the same chips as attention (tp x dp), ep ways by expert and tensor-parallel over the rest."""
    chips, ep = ints["tp"] * ints["dp_attn"], max(ints["ep"], 1)
    return chips // ep if chips % ep == 0 else 1


def _whole_chips(raw: dict) -> tuple[dict, str]:
    """Parallel degrees as whole numbers (0 or blank: 1), and why a row is skipped if one is not whole."""
    bad = next((f"{c}={v:g} is not a whole number of chips" for c, v in raw.items() if not float(v).is_integer()), "")
    return {c: int(v) or 1 for c, v in raw.items()}, bad


def _unrunnable(run: Run) -> str:
    """Why a run's layout cannot run, or "". Attention tp must divide the attention heads, in every pool
    (vLLM ModelConfig.verify_with_parallel_config: "Total number of attention heads must be divisible by
    tensor parallel size"; SGLang and TensorRT-LLM split heads over tp ranks alike). A MoE pool whose
    experts (moe_tp x moe_ep) span another GPU count than its attention (tp x attention dp) states two
    layouts at once. Aggregated rows get the second check in validate."""
    if run.model is None:
        return ""
    m = model_spec(run.model)
    for name, pool in (run.pools or {"": {"tp_size": run.tp}}).items():
        where, tp = f"{name} pool: " if name else "", int(pool.get("tp_size") or 1)
        if m.n_heads % tp:
            return (f"{where}tp={tp} does not divide the {m.n_heads} attention heads of {run.model}, so no engine "
                    f"runs it; tp is one of {', '.join(map(str, divisors(m.n_heads)))}")
        experts = (pool.get("moe_tp_size") or 0) * (pool.get("moe_ep_size") or 0)
        attention = tp * (pool.get("attention_dp_size") or 1)
        if m.is_moe and experts and experts != attention:
            return f"{where}moe_tp x moe_ep = {experts:g} GPUs differs from tp x attention_dp = {attention:g}"
    return ""


def _checked(run: Run, reasons: list[str]) -> Run:
    """`run` with the first reason it cannot be predicted: `reasons` found while reading, then its layout."""
    reason = next((r for r in reasons if r), "") or _unrunnable(run)
    return replace(run, skip_reason=reason) if reason else run


def _read_csv(path: str | Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"file={str(path)!r}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{Path(path).name} is not a readable CSV: {str(exc).splitlines()[0]}") from None


def _number(path, where: str, label: str, value, unit: str) -> float:
    """`value` as a non-negative number; else InputError naming file, row/record and column/field."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or number < 0:
        raise InputError(f"{Path(path).name} {where}, {label}: {value!r} is not a non-negative number; "
                         f"give {unit}")
    return number
