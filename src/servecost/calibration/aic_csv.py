"""The calibration CSV (aiconfigurator's format): one measured serving run per row."""

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..hardware import get as accelerator
from ..units import MS
from .measured import Run, catalogue_hardware, catalogue_model
from .cells import (_checked, _dtype_reasons, _int, _number, _quant, _read_csv)


def _concurrency_from_batches(row) -> float:
    """Requests in flight when the source names none: the aggregated batch, or decode batch x workers."""
    for value in (row.get("batch_size"), row.get("decode_batch_size", np.nan) * row.get("decode_num_workers", np.nan)):
        if not pd.isna(value) and value > 0:
            return float(value)
    return 0.0


# Rows from the dashboard's daily result files (source_file=YYYY-MM-DD.csv) were measured with its client,
# which draws every prompt and response length uniformly from [0.8, 1] x the nominal isl/osl
# (benchmark_serving.py --random-range-ratio 0.8, InferenceMAX README "Benchmark Client Configuration"):
# their mean lengths are 0.9 x nominal.
DASHBOARD_SOURCE = re.compile(r"(^|; )source_file=\d{4}-\d{2}-\d{2}\.csv(;|$)")
DASHBOARD_MEAN_LENGTH_FRAC = 0.9


def _mean_length_frac(row) -> float:
    return DASHBOARD_MEAN_LENGTH_FRAC if DASHBOARD_SOURCE.search(str(row.get("silicon_data_source", ""))) else 1.0


def _layout(row, node_chips: float) -> dict[str, int]:
    """tp, attention dp, MoE tp and ep of an aggregated row, as stated or, where the columns repeat the
    MoE tensor parallelism (`_repeats_moe_tp`), as run: moe_tp divided out of tp (or attention dp)."""
    tp, dp, moe_tp, ep = (_int(row.get("tp_size")), _attention_dp(row), _int(row.get("moe_tp_size")),
                          _int(row.get("moe_ep_size")))
    if pd.isna(row.get("moe_tp_size", np.nan)) and pd.isna(row.get("moe_ep_size", np.nan)):
        moe_tp = tp * dp     # no MoE layout given: experts tensor-parallel over the same GPUs as attention
    if row.get("mode") == "agg" and _repeats_moe_tp(row, tp, dp, moe_tp, ep, node_chips):
        tp, dp = (tp // moe_tp, dp) if tp % moe_tp == 0 else (tp, dp // moe_tp)
        moe_tp = 1
    return {"tp": tp, "dp_attn": dp, "moe_tp": moe_tp, "ep": ep}


def _repeats_moe_tp(row, tp: int, dp: int, moe_tp: int, ep: int, node_chips: float) -> bool:
    """Whether an aggregated row's columns state moe_tp x the GPUs it ran on.

    The dashboard's rows carry the run's tp as moe_tp_size and its ep as moe_ep_size, and then
    tp_size (or attention_dp_size) = moe_tp x moe_ep: a TP8 EP8 run on 8 GPUs reads tp 64 (or
    attention dp 64), moe_tp 8, ep 8. Where such a row has a twin in the same file stated as 8 GPUs
    (tp 8 or attention dp 8, moe_tp 1, ep 8), their TTFT and TPOT are equal to every digit
    (data/calibration/README.md gives the counts). Signature, by columns: moe_tp > 1 and ep > 1 with
    tp x dp = moe_tp x ep (experts split both ways over every GPU), divisible back by moe_tp, and either
    the row comes from the dashboard's result files or it states more GPUs than one scale-up domain
    (`node_chips`) holds while its experts (ep GPUs) fit in one. Rows without the signature keep their
    columns (e.g. a measured tp 4, moe_tp 2, ep 2 on 4 GPUs).
    """
    if not (moe_tp > 1 and ep > 1 and tp * dp == moe_tp * ep and (tp % moe_tp == 0 or dp % moe_tp == 0)):
        return False
    dashboard = bool(DASHBOARD_SOURCE.search(str(row.get("silicon_data_source", ""))))
    return dashboard or tp * dp > node_chips >= ep


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


def _node_chips(hw_id: str | None) -> float:
    """GPUs in one scale-up domain of a catalogue accelerator (8 on an HGX box); inf when unknown."""
    return float(accelerator(hw_id).scaleup_domain_chips) if hw_id else float("inf")


def _speculative_labels() -> dict[str, str]:
    """Runs of the shipped calibration file measured with speculative decoding, by id
    (data/calibration/speculative_runs.csv: the file does not say; the dashboard's record of the
    same run does)."""
    res = resources.files("servecost").joinpath("data/calibration/speculative_runs.csv")
    return dict(pd.read_csv(res.open()).set_index("id")["speculative"]) if res.is_file() else {}


AIC_DTYPE_COLUMNS = ("gemm_quant_mode", "moe_quant_mode", "kvcache_quant_mode")


def read_aic_csv(path: str | Path) -> list[Run]:
    """Runs from a calibration-format CSV; InputError naming a missing column or a bad cell. A row with an
    unknown quant mode or a layout no engine runs is read with its skip_reason (validate lists it as
    skipped); the rest of the file is read."""
    df = _read_csv(path)
    required = ["id", "model_path", "system", "backend", "mode", "isl", "osl", "silicon_ttft_ms", "silicon_tpot_ms"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{Path(path).name}: missing column {missing[0]!r}; the calibration CSV format "
                         "(data/calibration/README.md) has it")
    runs = []
    labels = _speculative_labels()
    for i, row in df.iterrows():
        where = f"line {i + 2}"   # line 1 is the header

        def num(column, unit):
            return _number(path, where, f"column {column}", row[column], unit)

        conc = re.search(r"silicon_concurrency=(\d+)", str(row.get("silicon_data_source", "")))
        concurrency = float(conc.group(1)) if conc else _concurrency_from_batches(row)
        system = str(row["system"]).lower()
        hw_id = catalogue_hardware(system)
        weight, expert = _quant(row.get("gemm_quant_mode")) or "", _quant(row.get("moe_quant_mode")) or ""
        run = Run(
            id=str(row["id"]), model=catalogue_model(str(row["model_path"])), hardware=hw_id,
            engine=str(row["backend"]), mode=str(row["mode"]),
            input_tokens=round(num("isl", "tokens") * _mean_length_frac(row)),
            output_tokens=round(num("osl", "tokens") * _mean_length_frac(row)), concurrency=concurrency,
            pp=_int(row.get("pp_size")), **_layout(row, _node_chips(hw_id)),
            weight_dtype=weight, expert_dtype=expert,
            kv_dtype=_quant(row.get("kvcache_quant_mode")) or _kv_dtype(str(row["backend"]), weight),
            measured_ttft_s=num("silicon_ttft_ms", "milliseconds") * MS,
            measured_tpot_s=num("silicon_tpot_ms", "milliseconds") * MS,
            pools=_pools(row), pools_assumed=row["mode"] == "disagg" and pd.isna(row.get("decode_num_workers")),
            speculative=str(row["speculative"]) if not pd.isna(row.get("speculative", np.nan))
            else labels.get(str(row["id"]), ""),
            source_model=str(row["model_path"]), source_system=system)
        runs.append(_checked(run, _dtype_reasons({c: row[c] for c in AIC_DTYPE_COLUMNS if c in row})))
    return runs
