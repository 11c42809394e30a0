"""User input -> core types. The only module that uses pydantic; errors become one-line InputErrors."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .economics import Assumptions
from .errors import InputError

FIXES = {
    "greater_than": "give a positive number",
    "greater_than_equal": "give a larger number",
    "less_than_equal": "give a smaller number",
    "literal_error": "use one of the listed values",
}


def _one_line(exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err["loc"]) or "input"
    fix = FIXES.get(err["type"], "see --help")
    return InputError(f"{name}={err.get('input')!r}: {err['msg'].lower()}; {fix}")


def validate(model_cls, **values):
    """Build `model_cls` from `values`; raise a one-line InputError naming the first bad field."""
    try:
        return model_cls(**values)
    except ValidationError as exc:
        raise _one_line(exc) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanInput(_Strict):
    users: int = Field(gt=0)
    speed: float = Field(gt=0)
    input_tokens: int = Field(gt=0)
    output_tokens: int = Field(gt=0)


class AssumptionsInput(_Strict):
    pricing: Literal["own", "cloud"] = "own"
    lifetime_years: float = Field(ge=0.5, le=30)
    cost_of_capital: float = Field(ge=0, le=1)
    usd_per_kwh: float = Field(ge=0)
    pue: float = Field(ge=1, le=5)
    load: float = Field(gt=0, le=1)
    other_opex: float = Field(ge=0)

    def to_core(self) -> Assumptions:
        return Assumptions(pricing=self.pricing, lifetime_years=self.lifetime_years,
                           cost_of_capital_frac=self.cost_of_capital, usd_per_kwh=self.usd_per_kwh,
                           pue=self.pue, load_frac=self.load, other_opex_frac=self.other_opex)


class PredictInput(_Strict):
    phase: Literal["decode", "prefill"]
    batch: float = Field(gt=0)
    context: int = Field(ge=0)
    seq: int = Field(gt=0)
    tp: int = Field(ge=1)
    pp: int = Field(ge=1)
    ep: int = Field(ge=1)
    dp_attn: int = Field(ge=1)


class MeasureInput(_Strict):
    seconds: float = Field(gt=0, le=3600)
    backend: Literal["auto", "torch", "numpy"]


class FrontierInput(_Strict):
    input_tokens: int = Field(gt=0)
    output_tokens: int = Field(gt=0)
    speed: float | None = Field(default=None, gt=0)


class BatchInput(_Strict):
    speed: float = Field(gt=0)
    input_tokens: int = Field(gt=0)
    output_tokens: int = Field(gt=0)
    deadline_hours: float = Field(gt=0)
    peak_to_mean: float = Field(ge=1)
    usd_per_kwh: float = Field(ge=0)
    pue: float = Field(ge=1, le=5)


class PowerInput(_Strict):
    budget_mw: float = Field(gt=0)
    speeds: list[float] = Field(min_length=1)
    input_tokens: int = Field(gt=0)
    output_tokens: int = Field(gt=0)
    pue: float = Field(ge=1, le=5)


class MonteCarloInput(_Strict):
    samples: int = Field(ge=100, le=10_000_000)
    load_high: float = Field(gt=0, le=1)


class OutlookInput(_Strict):
    years: int = Field(ge=0, le=20)
    speed: float = Field(gt=0)
    lifetime_years: float = Field(ge=0.5, le=30)


class UsageInput(_Strict):
    daily_users: int = Field(gt=0)
    sessions_per_day: float = Field(gt=0)
    requests_per_session: float = Field(gt=0)
    peak_to_mean: float = Field(ge=1)
