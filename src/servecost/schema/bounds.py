"""Bounds every entry point shares, and pydantic errors as one line naming the field and a fix."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError, short

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


PREFIX = "Value error, "


def one_line(errors: list[dict], fix_hint: str = "see --help") -> str:
    """The first pydantic error as `field=value: problem; fix` (or the validator's own line, which
    names its field)."""
    err = errors[0]
    if err.get("type") == "json_invalid":
        return f"body: not valid JSON ({err.get('ctx', {}).get('error', 'decode error')}); send a JSON object"
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "form")]
    name = ".".join(loc) or "input"
    msg = str(err.get("msg", "invalid"))
    if msg.startswith(PREFIX):
        return msg[len(PREFIX):]
    fix = FIXES.get(err.get("type", ""), fix_hint)
    if err.get("type") == "missing":
        return f"{name}: required; {fix}"
    return f"{name}={short(err.get('input'))}: {msg[:1].lower() + msg[1:]}; {fix}"


def validate(model_cls, validation_context: dict | None = None, **values):
    """Build `model_cls` from `values`; raise a one-line InputError naming the first bad field.
    `validation_context` reaches the validators (the CLI's `{"cli": True}`: paths on this machine allowed)."""
    try:
        return model_cls.model_validate(values, context=validation_context)
    except ValidationError as exc:
        raise InputError(one_line(exc.errors())) from None


# Bounds every entry point shares (request models, the CLI's own options).
Tokens = Annotated[int, Field(gt=0, le=2_000_000, description="Tokens per request.")]
Speed = Annotated[float, Field(ge=0.1, le=10_000, description="Output tokens/s each user gets.")]
Users = Annotated[int, Field(gt=0, le=10_000_000_000, description="Concurrent users (streams).")]
Degree = Annotated[int, Field(ge=1, le=4096)]
Pue = Annotated[float, Field(ge=1, le=5, description="Facility power / IT power.")]
HitFrac = Annotated[float, Field(ge=0, le=1, description="Share of prompt tokens served from the prefix cache.")]
PrefixTokens = Annotated[int, Field(ge=0, le=10_000_000, description="Cached prefix kept per conversation "
                                                                     "(0: hit x input).")]
UsdPerKwh = Annotated[float, Field(ge=0, le=10, description="Electricity price, $/kWh.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MeasureInput(_Strict):
    seconds: float = Field(gt=0, le=3600)
    backend: Literal["auto", "torch", "numpy"]


class SweepInput(_Strict):
    workers: int | None = Field(None, ge=1, le=1024)


class ServeInput(_Strict):
    port: int = Field(ge=1, le=65535)
    workers: int = Field(ge=1, le=64)


class SimulateInput(_Strict):
    max_events: float = Field(gt=0)
    max_memory_gb: float = Field(gt=0)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)


