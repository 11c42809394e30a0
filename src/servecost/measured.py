"""Measured serving runs read from files, mapped onto catalogue ids: the input of `validate`.

Format read here: the CSV of data/calibration/ (aiconfigurator silicon samples; README there).
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import hardware, models
from .errors import InputError
from .units import MS

SYSTEMS = {"a100_sxm": "a100-sxm", "h100_sxm": "h100-sxm", "h200_sxm": "h200-sxm", "b200_sxm": "b200",
           "b200": "b200", "gb200": "gb200-nvl72", "gb200_sxm": "gb200-nvl72", "b300_sxm": "b300", "b300": "b300",
           "gb300": "gb300-nvl72", "gb300_sxm": "gb300-nvl72", "mi300x": "mi300x", "mi325x": "mi325x",
           "mi355x": "mi355x"}
QUANT = {"fp8": "fp8", "fp8_block": "fp8", "nvfp4": "nvfp4", "fp4": "nvfp4", "w4a16": "int4", "int4": "int4",
         "mxfp4": "mxfp4", "bf16": "bf16", "float16": "bf16", "fp16": "bf16"}
SUFFIXES = ("-instruct", "-fp8", "-nvfp4", "-fp4", "-fp8-dynamic", "-awq", "-int4")


@dataclass(frozen=True)
class Run:
    """One measured serving configuration and its measured TTFT / TPOT (seconds)."""
    id: str
    model: str | None          # catalogue id, None when unmapped
    hardware: str | None
    engine: str
    mode: str                  # agg | disagg
    input_tokens: int
    output_tokens: int
    concurrency: float
    tp: int
    pp: int
    dp_attn: int
    ep: int
    moe_tp: int
    weight_dtype: str          # "" = native
    expert_dtype: str
    kv_dtype: str
    measured_ttft_s: float
    measured_tpot_s: float
    pools: dict                # disagg: per-pool parallelism and worker counts (None when not given)
    pools_assumed: bool = False  # disagg run whose worker counts the file does not give
    source_model: str = ""
    source_system: str = ""


def catalogue_model(hf_id: str) -> str | None:
    """Catalogue id for a Hugging Face model id (org/name), or None."""
    cat = models.catalogue()
    name = hf_id.split("/")[-1].lower().replace("meta-llama-", "llama-")
    changed = True
    while changed:
        changed = False
        for suffix in SUFFIXES:
            if name.endswith(suffix):
                name, changed = name[: -len(suffix)], True
    name = re.sub(r"^deepseek-v3\.\d+", "deepseek-v3", name)   # V3.1 / V3.2 keep V3's shapes
    return name if name in cat else None


def _int(value, default: int = 1) -> int:
    return default if pd.isna(value) or value == 0 else int(value)


def _quant(value) -> str:
    return "" if pd.isna(value) else QUANT.get(str(value).lower(), str(value).lower())


def _concurrency_from_batches(row) -> float:
    """Requests in flight when the source names none: the aggregated batch, or decode batch x workers."""
    for value in (row.get("batch_size"), row.get("decode_batch_size", np.nan) * row.get("decode_num_workers", np.nan)):
        if not pd.isna(value) and value > 0:
            return float(value)
    return 0.0


def _attention_dp(row) -> int:
    """Attention data-parallel degree; where the file leaves it empty, the MoE layout implies it:
    experts span moe_tp x moe_ep chips, attention tp x dp of the same chips."""
    if not pd.isna(row.get("attention_dp_size")):
        return _int(row.get("attention_dp_size"))
    moe_chips, tp = _int(row.get("moe_tp_size")) * _int(row.get("moe_ep_size")), _int(row.get("tp_size"))
    return moe_chips // tp if moe_chips > tp and moe_chips % tp == 0 else 1


def _kv_dtype(engine: str, weight_dtype: str) -> str:
    """The file gives no KV dtype. Assumed: runs with fp8/fp4 weights also keep an fp8 KV cache (NVIDIA's
    quantised checkpoints carry kv_cache_quant_algo FP8); bf16 runs keep bf16. The measured runs
    support it: with bf16 KV several fp8 runs would not fit their concurrency, yet ran without queueing."""
    return "fp8" if weight_dtype in ("fp8", "nvfp4") else "bf16"


def _pools(row) -> dict | None:
    if row["mode"] != "disagg":
        return None
    pools = {}
    for pool in ("prefill", "decode"):
        pools[pool] = {key: (None if pd.isna(row.get(f"{pool}_{key}")) else float(row[f"{pool}_{key}"]))
                       for key in ("batch_size", "num_workers", "tp_size", "pp_size", "attention_dp_size",
                                   "moe_tp_size", "moe_ep_size")}
    return pools


def read_aic_csv(path: str | Path) -> list[Run]:
    """Runs from a calibration-format CSV; InputError naming a missing column."""
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"file={str(path)!r}: no such file") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"file={str(path)!r} is not a readable CSV: {str(exc).splitlines()[0]}") from None
    required = ["id", "model_path", "system", "backend", "mode", "isl", "osl", "silicon_ttft_ms", "silicon_tpot_ms"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"file={str(path)!r}: missing column {missing[0]!r}; the calibration CSV format "
                         "(data/calibration/README.md) has it")
    runs = []
    for _, row in df.iterrows():
        conc = re.search(r"silicon_concurrency=(\d+)", str(row.get("silicon_data_source", "")))
        concurrency = float(conc.group(1)) if conc else _concurrency_from_batches(row)
        system = str(row["system"]).lower()
        runs.append(Run(
            id=str(row["id"]), model=catalogue_model(str(row["model_path"])),
            hardware=SYSTEMS.get(system, system if system in hardware.catalogue() else None),
            engine=str(row["backend"]), mode=str(row["mode"]), input_tokens=int(row["isl"]),
            output_tokens=int(row["osl"]), concurrency=concurrency,
            tp=_int(row.get("tp_size")), pp=_int(row.get("pp_size")), dp_attn=_attention_dp(row),
            ep=_int(row.get("moe_ep_size")), moe_tp=_int(row.get("moe_tp_size")),
            weight_dtype=_quant(row.get("gemm_quant_mode")), expert_dtype=_quant(row.get("moe_quant_mode")),
            kv_dtype=_kv_dtype(str(row["backend"]), _quant(row.get("gemm_quant_mode"))),
            measured_ttft_s=float(row["silicon_ttft_ms"]) * MS, measured_tpot_s=float(row["silicon_tpot_ms"]) * MS,
            pools=_pools(row), pools_assumed=row["mode"] == "disagg" and pd.isna(row.get("decode_num_workers")),
            source_model=str(row["model_path"]), source_system=system))
    return runs
