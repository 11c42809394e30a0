"""The model catalogue: each entry's stored config.json (hf_config.py) with its published facts, and
`get` for a catalogue id or a path to a config.json."""

import csv
import json
from functools import cache
from importlib import resources
from pathlib import Path

from .dtypes import canonical
from .errors import InputError, suggest
from .hf_config import (CUSTOM_ID, MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, MAX_CONFIG_KEYS, check_config, check_spec,
                        from_hf_config, from_pasted, load_config_file, nesting, short)
from .model_spec import ModelSpec

__all__ = ["CUSTOM_ID", "MAX_CONFIG_BYTES", "MAX_CONFIG_DEPTH", "MAX_CONFIG_KEYS", "ModelSpec", "catalogue",
           "check_config", "check_spec", "from_hf_config", "from_pasted", "get", "load_config_file", "nesting"]


@cache
def catalogue() -> dict[str, ModelSpec]:
    """All catalogue models by id, parsed from their stored config.json, with published facts."""
    data = resources.files("servecost").joinpath("data")
    specs = {}
    for row in csv.DictReader(data.joinpath("models.csv").read_text().splitlines()):
        cfg = json.loads(data.joinpath("configs", row["config"]).read_text())
        spec = from_hf_config(cfg, model_id=row["id"], source=row["config"])
        specs[row["id"]] = _with_row_facts(spec, row)
    return specs


def _with_row_facts(spec: ModelSpec, row: dict) -> ModelSpec:
    from dataclasses import replace
    return replace(
        spec, name=row["name"],
        weight_dtype=canonical(row["native_weight_dtype"]), expert_dtype=canonical(row["native_expert_dtype"]),
        mtp_layers=int(row["mtp_layers"] or 0),
        published_total_params=float(row["params_total_b"]) * 1e9,
        published_active_params=float(row["params_active_b"]) * 1e9,
        sources=row["sources"])


def get(model: str, field: str = "model") -> ModelSpec:
    """A catalogue id or a path to a config.json."""
    models = catalogue()
    key = model.strip().lower()
    if key in models:
        return models[key]
    if model.endswith(".json") or _is_file(model):
        return load_config_file(model, field)
    raise InputError(f"{field}={short(model, 80)} is not a catalogue id{suggest(key[:100], models)}; "
                     "`servecost models` lists them, or give a path to a config.json")


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):     # a name too long for a path, or with a NUL in it
        return False
