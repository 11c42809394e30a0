"""Command line: `servecost COMMAND` (app.py; the commands register themselves on import, in the
order `servecost --help` lists them)."""

from . import fleet  # noqa: F401  plan, frontier, batch-discount, power, outlook, predict
from . import calibration  # noqa: F401  validate, calibrate, measure
from . import simulation  # noqa: F401  simulate, sweep
from . import catalogue  # noqa: F401  models, hardware, serve
from .app import MAX_ERROR_CHARS, app, main, one_line

__all__ = ["MAX_ERROR_CHARS", "app", "main", "one_line"]
