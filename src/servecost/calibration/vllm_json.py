"""`vllm bench serve --save-result` JSON: one benchmark run per record."""

import json
from pathlib import Path

from ..errors import InputError
from ..units import MS
from .measured import Run, catalogue_hardware, catalogue_model
from .cells import (_checked, _dtype_reasons, _engine, _moe_tp, _number, _quant)


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
