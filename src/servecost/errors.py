"""The one error type for bad user input, and close-name suggestions."""

import difflib
from collections.abc import Iterable


class InputError(ValueError):
    """Bad user input. The message names the field, the value and a fix; the CLI exits 2."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return '; did you mean X?' for the closest names, or ''."""
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in choices], n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(close)}?" if close else ""
