"""Measured serving runs from files: the calibration CSV, `vllm bench serve --save-result` JSON, and
servecost's own simple runs CSV. A malformed file raises InputError naming the file, the row (or
record) and the column (or field)."""

import json
import re
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..dtypes import BYTES_PER_ELEMENT, canonical
from ..errors import InputError, suggest
from ..hardware import get as accelerator
from .measured import Run, catalogue_hardware, catalogue_model
from ..models import get as model_spec
from ..parallel import divisors
from ..units import MS

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


def _node_chips(hw_id: str | None) -> float:
    """GPUs in one scale-up domain of a catalogue accelerator (8 on an HGX box); inf when unknown."""
    return float(accelerator(hw_id).scaleup_domain_chips) if hw_id else float("inf")


def _read_csv(path: str | Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"file={str(path)!r}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{Path(path).name} is not a readable CSV: {str(exc).splitlines()[0]}") from None


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


# servecost's own runs CSV: one measured configuration per row (README, "Measured runs").
RUNS_CSV_REQUIRED = ("model", "hardware", "concurrency", "input_tokens", "output_tokens", "ttft_ms", "tpot_ms")
RUNS_CSV_INTS = ("tp", "pp", "dp_attn", "ep")


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


def _runs_csv_pools(num, opt, ints: dict) -> dict | None:
    """Prefill and decode pools of a disaggregated run in the runs CSV: decode workers laid out as the
    run's tp / dp_attn / ep, prefill workers as prefill_tp / prefill_dp_attn / prefill_ep; None unless
    both worker counts are given. `*_gpus`, where given, are checked against them (validate.py)."""
    if not (opt("prefill_workers") and opt("decode_workers")):
        return None

    def count(column, default="1"):
        return num(column, "a whole number") if opt(column) else float(default)

    def pool(prefix, tp, dp, ep):
        return {"num_workers": count(f"{prefix}_workers"), "tp_size": tp, "pp_size": 1.0, "attention_dp_size": dp,
                "moe_tp_size": None, "moe_ep_size": ep, "batch_size": None,
                "gpus": count(f"{prefix}_gpus") if opt(f"{prefix}_gpus") else None}
    return {"prefill": pool("prefill", count("prefill_tp"), count("prefill_dp_attn"), count("prefill_ep")),
            "decode": pool("decode", float(ints["tp"] * ints["pp"]), float(ints["dp_attn"]), float(ints["ep"]))}


def read_runs_csv(path: str | Path) -> list[Run]:
    """Runs from servecost's own CSV (columns in RUNS_CSV_REQUIRED, optional id, engine, tp, pp,
    dp_attn, ep, weight_dtype, expert_dtype, kv_dtype, disaggregated, speculative, and for
    disaggregated runs prefill_workers, prefill_tp, prefill_dp_attn, prefill_ep, decode_workers,
    prefill_gpus, decode_gpus). An empty ttft_ms cell is a run whose TTFT was not measured: only its
    TPOT is compared and fitted. Disaggregated runs without worker counts and runs with speculative
    decoding (no draft length or acceptance) are read and reported as skipped, with the reason."""
    df = _read_csv(path)
    missing = [c for c in RUNS_CSV_REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"{Path(path).name}: missing column {missing[0]!r}; the runs CSV needs "
                         f"{', '.join(RUNS_CSV_REQUIRED)}")
    runs = []
    for i, row in enumerate(df.to_dict(orient="records")):
        where = f"line {i + 2}"   # line 1 is the header

        def num(column, unit):
            return _number(path, where, f"column {column}", row[column], unit)

        def opt(column, default=""):
            value = row.get(column)
            return default if value is None or pd.isna(value) else str(value).strip()

        ints, fractional = _whole_chips({c: _number(path, where, f"column {c}", opt(c, "1"), "a whole number of chips")
                                         for c in RUNS_CSV_INTS})
        dtype_cells = {c: opt(c) for c in ("weight_dtype", "expert_dtype", "kv_dtype")}
        dtypes = {c: _quant(v) or "" for c, v in dtype_cells.items()}
        disaggregated = opt("disaggregated").lower() in ("yes", "true", "1")
        run = Run(
            id=opt("id", f"{Path(path).stem}:{i + 2}"), model=catalogue_model(str(row["model"])),
            hardware=catalogue_hardware(str(row["hardware"])), engine=_engine(opt("engine")),
            mode="disagg" if disaggregated else "agg",
            speculative=opt("speculative"),
            input_tokens=int(num("input_tokens", "tokens per prompt")),
            output_tokens=int(num("output_tokens", "tokens per response")),
            concurrency=num("concurrency", "requests in flight"), moe_tp=_moe_tp(ints),
            weight_dtype=dtypes["weight_dtype"], expert_dtype=dtypes["expert_dtype"],
            kv_dtype=dtypes["kv_dtype"] or "bf16",
            measured_ttft_s=num("ttft_ms", "milliseconds") * MS if opt("ttft_ms") else float("nan"),
            measured_tpot_s=num("tpot_ms", "milliseconds") * MS,
            pools=_runs_csv_pools(num, opt, ints) if disaggregated else None,
            source_model=str(row["model"]), source_system=str(row["hardware"]), **ints)
        runs.append(_checked(run, [fractional] + _dtype_reasons(dtype_cells)))
    return runs


# `vllm bench serve --save-result` (vllm/benchmarks/serve.py): one JSON object per benchmark, or a
# JSON list, or one object per line (--append-result). Fields used: model_id, max_concurrency,
# completed, total_input_tokens, total_output_tokens, mean_ttft_ms, mean_tpot_ms, and for the
# concurrency when max_concurrency is null: request_throughput x mean_e2el_ms (Little's law).
# The file names no hardware or parallelism: give them with `--metadata hardware=h100-sxm tp=2`
# when benchmarking, or with --hardware here.
VLLM_FIELDS = ("model_id", "completed", "total_input_tokens", "total_output_tokens", "mean_ttft_ms", "mean_tpot_ms")
VLLM_PARALLEL = {"tp": ("tp", "tensor_parallel_size", "tp_size"), "pp": ("pp", "pipeline_parallel_size"),
                 "dp_attn": ("dp", "data_parallel_size", "dp_attn"), "ep": ("ep", "expert_parallel_size")}


def _json_records(path: str | Path) -> list[dict]:
    text = Path(path).read_text()
    try:
        data = json.loads(text)
        records = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        records = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"{Path(path).name} line {n}: not valid JSON ({exc.msg}); "
                                     "give the file `vllm bench serve --save-result` wrote") from None
    for n, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise InputError(f"{Path(path).name} record {n}: expected a JSON object of benchmark results")
    return records


def read_vllm_json(path: str | Path, hardware: str | None = None, engine: str = "vllm") -> list[Run]:
    """Runs from `vllm bench serve --save-result` files; hardware from the record's metadata
    (`hardware=`), else `hardware`."""
    runs = []
    for n, rec in enumerate(_json_records(path), start=1):
        where = f"record {n}"
        missing = [f for f in VLLM_FIELDS if rec.get(f) is None]
        if missing:
            raise InputError(f"{Path(path).name} {where}, field {missing[0]}: missing; save results with "
                             "`vllm bench serve --save-result`")

        def num(field, unit):
            return _number(path, where, f"field {field}", rec[field], unit)

        completed = num("completed", "the number of completed requests") or 1.0
        concurrency = rec.get("max_concurrency")
        if concurrency is None and rec.get("mean_e2el_ms") is not None:
            concurrency = num("request_throughput", "requests/s") * num("mean_e2el_ms", "milliseconds") * MS
        ints = {}
        for name, keys in VLLM_PARALLEL.items():
            value = next((rec[k] for k in keys if rec.get(k) is not None), 1)
            ints[name] = int(_number(path, where, f"field {keys[0]}", value, "a whole number of chips") or 1)
        system = str(rec.get("hardware") or rec.get("gpu") or hardware or "")
        dtype_cells = {"weight_dtype": rec.get("weight_dtype"), "kv_cache_dtype": rec.get("kv_cache_dtype")}
        run = Run(
            id=f"{Path(path).stem}:{n}", model=catalogue_model(str(rec["model_id"])),
            hardware=catalogue_hardware(system) if system else None, engine=_engine(str(rec.get("engine") or engine)),
            mode="agg", input_tokens=int(round(num("total_input_tokens", "tokens") / completed)),
            output_tokens=int(round(num("total_output_tokens", "tokens") / completed)),
            concurrency=float(concurrency or 0.0), moe_tp=_moe_tp(ints),
            weight_dtype=_quant(rec.get("weight_dtype")) or "", expert_dtype="",
            kv_dtype=_quant(rec.get("kv_cache_dtype")) or "bf16",
            measured_ttft_s=num("mean_ttft_ms", "milliseconds") * MS,
            measured_tpot_s=num("mean_tpot_ms", "milliseconds") * MS,
            pools=None, source_model=str(rec["model_id"]), source_system=system or "(not given)", **ints)
        runs.append(_checked(run, _dtype_reasons(dtype_cells)))
    return runs


def read_runs(path: str | Path, hardware: str | None = None) -> list[Run]:
    """Runs from any supported file, told apart by extension and header."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file={str(path)!r}: no such file")
    if path.suffix.lower() in (".json", ".jsonl"):
        return read_vllm_json(path, hardware)
    header = path.read_text(errors="replace").split("\n", 1)[0]
    if "silicon_tpot_ms" in header:
        return read_aic_csv(path)
    if "tpot_ms" in header or path.suffix.lower() == ".csv":
        return read_runs_csv(path)
    raise InputError(f"{path.name}: unknown format; give the calibration CSV (silicon_tpot_ms), the runs CSV "
                     "(tpot_ms) or a `vllm bench serve --save-result` JSON file")
