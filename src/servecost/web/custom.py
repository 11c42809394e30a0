"""A pasted Hugging Face config.json as the model the core calls take: checked, then written to a
temporary `custom.json` whose path stands in for a catalogue id (the CLI's --model PATH)."""

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

from ..errors import InputError
from ..models import ModelSpec, from_hf_config
from ..params import total_params

CUSTOM_ID = "custom"
MAX_DIM = 10_000_000           # any one size of a config.json (layers, width, vocabulary, experts)
MAX_PARAMS = 100e12            # 100T parameters
POSITIVE = ("n_layers", "d_model", "vocab_size", "n_heads", "n_kv_heads", "head_dim")


def spec(config: dict) -> ModelSpec:
    """The ModelSpec of a pasted config.json; InputError naming `config` for anything unusable."""
    try:
        m = from_hf_config(config, CUSTOM_ID, source="(pasted)")
    except InputError:
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise InputError(f"config: not a usable Hugging Face config.json ({exc})") from None
    for f in fields(m):
        value = getattr(m, f.name)
        if f.type is int and not 0 <= value <= MAX_DIM:
            raise InputError(f"config: {f.name}={value} is outside 0..{MAX_DIM:,}")
    for name in POSITIVE:
        if getattr(m, name) < 1:
            raise InputError(f"config: {name} must be at least 1")
    if m.is_moe and not 1 <= m.experts_per_token <= m.n_experts:
        raise InputError(f"config: experts per token ({m.experts_per_token}) must be 1..{m.n_experts} (the experts)")
    if total_params(m) > MAX_PARAMS:
        raise InputError(f"config: {total_params(m) / 1e12:,.0f}T parameters; at most {MAX_PARAMS / 1e12:.0f}T")
    return m


@contextmanager
def model_arg(model: str, config: dict | None) -> Iterator[str]:
    """What core calls take as `model`: the catalogue id, or the path of a checked config.json."""
    if config is None:
        yield model
        return
    spec(config)
    with tempfile.TemporaryDirectory(prefix="servecost-") as folder:
        path = Path(folder) / f"{CUSTOM_ID}.json"
        path.write_text(json.dumps(config))
        yield str(path)
