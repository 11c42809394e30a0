"""User input -> core types. The only module that uses pydantic; errors become one-line InputErrors."""

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .economics import Assumptions
from .errors import InputError

FIXES = {
    "greater_than": "give a positive number",
    "greater_than_equal": "give a larger number",
    "less_than_equal": "give a smaller number",
    "less_than": "give a smaller number",
    "literal_error": "use one of the listed values",
    "finite_number": "give a finite number",
    "too_long": "give fewer values",
    "int_from_float": "give a whole number",
    "int_parsing": "give a whole number",
    "float_parsing": "give a number",
}


def short(value, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters: an error line quotes the input, never all of it."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _one_line(exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err["loc"]) or "input"
    fix = FIXES.get(err["type"], "see --help")
    return InputError(f"{name}={short(err.get('input'))}: {err['msg'].lower()}; {fix}")


def validate(model_cls, **values):
    """Build `model_cls` from `values`; raise a one-line InputError naming the first bad field."""
    try:
        return model_cls(**values)
    except ValidationError as exc:
        raise _one_line(exc) from None


# Bounds every entry point shares (the CLI's options, the API's bodies in web/inputs.py).
Tokens = Annotated[int, Field(gt=0, le=2_000_000, description="Tokens per request.")]
Speed = Annotated[float, Field(ge=0.1, le=10_000, description="Output tokens/s each user gets.")]
Users = Annotated[int, Field(gt=0, le=10_000_000_000, description="Concurrent users (streams).")]
Degree = Annotated[int, Field(ge=1, le=4096)]
Pue = Annotated[float, Field(ge=1, le=5, description="Facility power / IT power.")]
UsdPerKwh = Annotated[float, Field(ge=0, le=10, description="Electricity price, $/kWh.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PlanInput(_Strict):
    users: Users
    speed: Speed
    input_tokens: Tokens
    output_tokens: Tokens


class AssumptionsInput(_Strict):
    pricing: Literal["own", "cloud"] = "own"
    lifetime_years: float = Field(ge=0.5, le=30)
    cost_of_capital: float = Field(ge=0, le=1)
    usd_per_kwh: UsdPerKwh
    pue: Pue
    load: float = Field(gt=0, le=1)
    other_opex: float = Field(ge=0, le=10)

    def to_core(self) -> Assumptions:
        return Assumptions(pricing=self.pricing, lifetime_years=self.lifetime_years,
                           cost_of_capital_frac=self.cost_of_capital, usd_per_kwh=self.usd_per_kwh,
                           pue=self.pue, load_frac=self.load, other_opex_frac=self.other_opex)


class PredictInput(_Strict):
    phase: Literal["decode", "prefill"]
    batch: float = Field(ge=0.01, le=1_000_000)
    context: int = Field(ge=0, le=10_000_000)
    seq: int = Field(gt=0, le=10_000_000)
    tp: Degree | None = None
    pp: Degree | None = None
    ep: Degree | None = None
    dp_attn: Degree | None = None


class MeasureInput(_Strict):
    seconds: float = Field(gt=0, le=3600)
    backend: Literal["auto", "torch", "numpy"]


class FrontierInput(_Strict):
    input_tokens: Tokens
    output_tokens: Tokens
    speed: Speed | None = None


class BatchInput(_Strict):
    speed: Speed
    input_tokens: Tokens
    output_tokens: Tokens
    deadline_hours: float = Field(ge=0.01, le=24 * 366)
    peak_to_mean: float = Field(ge=1, le=100)
    usd_per_kwh: UsdPerKwh
    pue: Pue


class PowerInput(_Strict):
    budget_mw: float = Field(ge=0.001, le=100_000)
    speeds: list[Speed] = Field(min_length=1, max_length=50)
    input_tokens: Tokens
    output_tokens: Tokens
    pue: Pue


class MonteCarloInput(_Strict):
    samples: int = Field(ge=100, le=10_000_000)
    load_high: float = Field(gt=0, le=1)


class OutlookInput(_Strict):
    years: int = Field(ge=0, le=20)
    speed: Speed
    lifetime_years: float = Field(ge=0.5, le=30)


class UsageInput(_Strict):
    daily_users: int = Field(gt=0, le=100_000_000_000)
    sessions_per_day: float = Field(gt=0, le=1000)
    requests_per_session: float = Field(gt=0, le=1000)
    peak_to_mean: float = Field(ge=1, le=100)


class SweepInput(_Strict):
    workers: int | None = Field(None, ge=1, le=1024)


class ServeInput(_Strict):
    port: int = Field(ge=1, le=65535)
    workers: int = Field(ge=1, le=64)


class SimulateInput(_Strict):
    max_events: float = Field(gt=0)
    max_memory_gb: float = Field(gt=0)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)


def sim_limits(max_events: float, max_memory_gb: float, seed: int | None = None):
    """The CLI's simulation limits (sim.limits.CLI with the given numbers); checks the seed too."""
    from dataclasses import replace

    from .sim.limits import CLI
    from .units import GB
    v = validate(SimulateInput, max_events=max_events, max_memory_gb=max_memory_gb, seed=seed)
    return replace(CLI, max_events=v.max_events, max_memory_bytes=v.max_memory_gb * GB)


def output_file(path: str, option: str, suffixes: tuple[str, ...], force: bool = False) -> Path:
    """The path of a file a command will write, checked before the work: a known suffix, an existing
    writable folder, not a folder itself, and no file there already unless `force`."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"{option}={path!r} is a folder; give a file name ending in {' or '.join(suffixes)}")
    if p.suffix.lower() not in suffixes:
        raise InputError(f"{option}={path!r}: give a file name ending in {' or '.join(suffixes)}")
    _writable_folder(p.parent, option, path)
    if p.exists() and not force:
        raise InputError(f"{option}={path!r} exists; give a new name, or --force to overwrite it")
    if not p.exists():
        _try_create(p, option, path, p.touch, p.unlink)
    return p


def output_folder(path: str, option: str, force: bool = False) -> Path:
    """A folder a command will write its files into: new (in a writable folder), or existing and
    empty, or any existing folder with `force`."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise InputError(f"{option}={path!r} is a file; give a folder name (it is created)")
    if p.is_dir():
        if any(p.iterdir()) and not force:
            raise InputError(f"{option}={path!r} already holds files; give a new folder, or --force to "
                             "write over its files")
        _writable_folder(p, option, path)
    else:
        _writable_folder(p.parent, option, path)
        _try_create(p, option, path, p.mkdir, p.rmdir)
    return p


def _try_create(p: Path, option: str, path: str, create, remove) -> None:
    """Create `p` and remove it again: permission bits do not tell root where writing fails (/proc)."""
    try:
        create()
        remove()
    except OSError as exc:
        raise InputError(f"{option}={path!r} cannot be written ({exc.strerror}); give another path") from None


def _writable_folder(folder: Path, option: str, path: str) -> None:
    folder = folder if str(folder) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{option}={path!r}: the folder {str(folder)!r} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option}={path!r}: the folder {str(folder)!r} is not writable; give another path")
