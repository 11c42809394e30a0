"""Measured serving runs from files: the calibration CSV, `vllm bench serve --save-result` JSON, and
servecost's own simple runs CSV. A malformed file raises InputError naming the file, the row (or
record) and the column (or field)."""

from pathlib import Path

from ..errors import InputError
from .aic_csv import read_aic_csv
from .measured import Run
from .runs_csv import read_runs_csv
from .vllm_json import read_vllm_json

__all__ = ["read_aic_csv", "read_runs", "read_runs_csv", "read_vllm_json"]


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
