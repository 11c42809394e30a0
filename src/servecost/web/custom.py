"""A pasted Hugging Face config.json as the model the core calls take: checked, then written to a
temporary `custom.json` whose path stands in for a catalogue id (the CLI's --model PATH)."""

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError
from ..models import ModelSpec, from_hf_config

CUSTOM_ID = "custom"


def spec(config: dict) -> ModelSpec:
    """The ModelSpec of a pasted config.json, with the bounds a --model PATH gets (models.check_config,
    check_spec); InputError naming `config` for anything unusable."""
    try:
        return from_hf_config(config, CUSTOM_ID, source="(pasted)")
    except InputError:
        raise
    except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, RecursionError) as exc:
        raise InputError(f"config: not a usable Hugging Face config.json ({str(exc)[:80]})") from None


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
