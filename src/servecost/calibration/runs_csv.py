"""servecost's own runs CSV: one measured configuration per row (README, 'Measured runs')."""

from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..units import MS
from .measured import Run, catalogue_hardware, catalogue_model
from .cells import (_checked, _dtype_reasons, _engine, _moe_tp, _number, _quant, _read_csv, _whole_chips)


# servecost's own runs CSV: one measured configuration per row (README, "Measured runs").
RUNS_CSV_REQUIRED = ("model", "hardware", "concurrency", "input_tokens", "output_tokens", "ttft_ms", "tpot_ms")
RUNS_CSV_INTS = ("tp", "pp", "dp_attn", "ep")


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
