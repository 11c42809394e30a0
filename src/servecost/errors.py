"""The one error type for bad user input, and close-name suggestions."""

import difflib
from collections.abc import Iterable
from pathlib import Path


class InputError(ValueError):
    """Bad user input. The message names the field, the value and a fix; the CLI exits 2."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return '; did you mean X?' for the closest names, or ''."""
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in choices], n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def short(value, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters: an error line quotes the input, never all of it."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def refuse_special_file(path, field: str, give: str) -> None:
    """InputError for a path that exists but is neither a regular file nor a folder: reading a FIFO
    or /dev/zero never ends. `give`: what to give instead."""
    p = Path(path)
    if p.exists() and not p.is_file() and not p.is_dir():
        raise InputError(f"{field}={short(str(path), 80)} is not a regular file (a FIFO or device never ends); "
                         f"give {give}")
