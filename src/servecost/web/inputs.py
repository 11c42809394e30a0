"""Request bodies of the HTTP API: the CLI's options under the same names, bounded so that one
request cannot hog the server. Catalogue ids and dtypes are checked here, so a bad one is a 422
naming its field; a model is a catalogue id or a pasted config.json, never a path on the server."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .. import hardware as hw_cat, models, schema
from ..dtypes import canonical
from ..economics import Assumptions
from ..errors import InputError, suggest

MAX_HARDWARE = 32                 # ids per request (the catalogue has 19)
MAX_SPEEDS = 50                   # speeds per power table
MAX_MONTE_CARLO = 200_000         # samples per plan
MAX_CONFIG_KEYS, MAX_CONFIG_DEPTH = models.MAX_CONFIG_KEYS, models.MAX_CONFIG_DEPTH   # as for a --model PATH

Tokens, Speed, Users, Degree, Pue, UsdPerKwh = (schema.Tokens, schema.Speed, schema.Users, schema.Degree,
                                                schema.Pue, schema.UsdPerKwh)   # the CLI's bounds
Engine = Literal["", "trtllm", "vllm", "sglang"]
Precisions = Literal["native", "all"]
Pricing = Literal["own", "cloud"]
Range = Annotated[tuple[Annotated[float, Field(ge=0, le=100)], Annotated[float, Field(ge=0, le=100)]],
                  Field(description="[low, high]")]


def _dtype(v: str, info: ValidationInfo) -> str:
    try:
        return canonical(v, info.field_name) if v else v
    except InputError as exc:
        raise ValueError(str(exc)) from None


def _hardware_id(v: str, info: ValidationInfo) -> str:
    own = {str(c.get("id", "")).strip().lower() for c in (info.data.get("chips") or [])}
    if v.strip().lower() in own:
        return v.strip().lower()
    try:
        return hw_cat.get(v, info.field_name).id
    except InputError as exc:
        raise ValueError(str(exc).replace("`servecost hardware`", "GET /api/hardware")) from None


def _unique(v: list[str]) -> list[str]:
    return list(dict.fromkeys(v))


Dtype = Annotated[str, Field(max_length=16), AfterValidator(_dtype)]
HardwareId = Annotated[str, Field(max_length=64, description="Hardware id (GET /api/hardware).",
                                  json_schema_extra={"enum": list(hw_cat.catalogue())}),
                       AfterValidator(_hardware_id)]
HardwareIds = Annotated[list[HardwareId], Field(max_length=MAX_HARDWARE, description="Empty: the whole catalogue."),
                        AfterValidator(_unique)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _own_chips(v: list[dict]) -> list[dict]:
    try:
        schema.hardware_rows(v, "chips")
    except InputError as exc:
        raise ValueError(str(exc)) from None
    return v


Chips = Annotated[list[dict], Field(max_length=8, description="Your own chips: mappings of the catalogue's columns "
                                    "(GET /api/hardware?format=csv), named by their id in `hardware`."),
                  AfterValidator(_own_chips)]


class ModelRequest(_Request):
    """A model: a catalogue id, or a pasted Hugging Face config.json (`config`, used when given); your
    own chips (`chips`) beside the catalogue."""
    model: str = Field("kimi-k2", max_length=64, description="Catalogue id (GET /api/models).",
                       json_schema_extra={"enum": list(models.catalogue())})
    config: dict | None = Field(None, description="A Hugging Face config.json; replaces `model` when given.")
    chips: Chips = []

    @field_validator("model")
    @classmethod
    def _catalogue_id(cls, v: str) -> str:
        key = v.strip().lower()
        if key not in models.catalogue():
            raise ValueError(f"model={v!r} is not a catalogue id{suggest(key, models.catalogue())}; "
                             "GET /api/models lists them, or paste a config.json as `config`")
        return key

    @field_validator("config")
    @classmethod
    def _small_config(cls, v: dict | None) -> dict | None:
        if v is not None and len(v) > MAX_CONFIG_KEYS:
            raise ValueError(f"config has {len(v)} keys; a config.json has far fewer than {MAX_CONFIG_KEYS}")
        if v is not None and models.nesting(v) > MAX_CONFIG_DEPTH:
            raise ValueError(f"config nests objects or lists over {MAX_CONFIG_DEPTH} deep; a config.json does not")
        return v


class FleetRequest(ModelRequest):
    """A model on a list of accelerators (empty: the whole catalogue)."""
    hardware: HardwareIds = []
    input_tokens: Tokens = 2000
    output_tokens: Tokens = 500
    engine: Engine = ""
    precisions: Precisions = "native"


class Costs(_Request):
    """The cost assumptions (plan's options; frontier takes them too)."""
    pricing: Pricing = "own"
    lifetime_years: float = Field(3.0, ge=0.5, le=30)
    cost_of_capital: float = Field(0.08, ge=0, le=1)
    usd_per_kwh: UsdPerKwh = 0.08
    pue: Pue = 1.2
    load: float = Field(1.0, ge=0.01, le=1)
    other_opex: float = Field(0.10, ge=0, le=10)

    def assumptions(self, load: float | None = None) -> Assumptions:
        return schema.validate(schema.AssumptionsInput, pricing=self.pricing, lifetime_years=self.lifetime_years,
                               cost_of_capital=self.cost_of_capital, usd_per_kwh=self.usd_per_kwh, pue=self.pue,
                               load=self.load if load is None else load, other_opex=self.other_opex).to_core()


class PlanRequest(FleetRequest, Costs):
    users: Users = 1_000_000
    speed: Speed = 50.0
    weight_dtype: Dtype = ""
    expert_dtype: Dtype = ""
    kv_dtype: Dtype = "bf16"
    speculation: bool = True
    disaggregation: bool = True
    speculation_method: Literal["auto", "none", "mtp1", "mtp3", "eagle3"] = "auto"
    prefix_cache_hit: schema.HitFrac = 0.0
    prefix_tokens: schema.PrefixTokens = 0
    prefill_hardware: Annotated[str, Field(max_length=64, description="Prefill pool on this hardware id (mixed fleet).")] = ""
    expert_rebalancing: bool = True
    daily_users: int | None = Field(None, gt=0, le=100_000_000_000)
    sessions_per_day: float = Field(3.0, gt=0, le=1000)
    requests_per_session: float = Field(5.0, gt=0, le=1000)
    peak_to_mean: float = Field(2.0, ge=1, le=100)
    monte_carlo: int = Field(0, ge=0, le=MAX_MONTE_CARLO, description="Samples (0: off, else at least 100).")
    price_range: Range = (0.8, 1.2)
    kwh_range: Range = (0.05, 0.12)
    load_range: Range = (0.6, 1.0)

    @model_validator(mode="after")
    def _ranges(self):
        if 0 < self.monte_carlo < 100:
            raise ValueError(f"monte_carlo={self.monte_carlo}: give 0 (off) or at least 100 samples")
        for name in ("price_range", "kwh_range", "load_range"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name}={[low, high]}: low must be <= high")
        if not 0 < self.load_range[0] <= self.load_range[1] <= 1:
            raise ValueError(f"load_range={list(self.load_range)}: give 0 < low <= high <= 1")
        return self


class FrontierRequest(FleetRequest, Costs):
    precisions: Precisions = "all"
    speed: float | None = Field(None, ge=0.1, le=10_000, description="Mark this speed and plan's pick at it.")
    speculation: bool = True
    disaggregation: bool = True
    speculation_method: Literal["auto", "none", "mtp1", "mtp3", "eagle3"] = "auto"
    prefix_cache_hit: schema.HitFrac = 0.0
    prefix_tokens: schema.PrefixTokens = 0
    prefill_hardware: Annotated[str, Field(max_length=64, description="Prefill pool on this hardware id (mixed fleet).")] = ""
    expert_rebalancing: bool = True


class BatchRequest(FleetRequest):
    speed: Speed = 50.0
    deadline_hours: float = Field(24.0, ge=0.01, le=24 * 366)
    prefix_cache_hit: schema.HitFrac = 0.0
    peak_to_mean: float = Field(2.0, ge=1, le=100)
    pricing: Pricing = "own"
    usd_per_kwh: UsdPerKwh = 0.08
    pue: Pue = 1.2


class PowerRequest(FleetRequest):
    budget_mw: float = Field(100.0, ge=0.001, le=100_000, description="Facility power budget, MW.")
    speeds: list[Annotated[float, Field(ge=0.1, le=10_000)]] = Field(
        [10, 20, 30, 50, 75, 100, 150, 200, 300], min_length=1, max_length=MAX_SPEEDS)
    pue: Pue = 1.2


class OutlookRequest(_Request):
    years: int = Field(3, ge=0, le=20)
    speed: Speed = 50.0
    hardware: HardwareIds = []
    engine: Engine = ""
    lifetime_years: float = Field(3.0, ge=0.5, le=30)


class PredictRequest(ModelRequest):
    hardware: HardwareId
    phase: Literal["decode", "prefill"] = "decode"
    batch: float = Field(1.0, ge=0.01, le=1_000_000)
    context: int = Field(1024, ge=0, le=10_000_000)
    seq: int = Field(1024, gt=0, le=10_000_000)
    tp: Degree | None = None
    pp: Degree | None = None
    ep: Degree | None = None
    dp_attn: Degree | None = None
    weight_dtype: Dtype = ""
    expert_dtype: Dtype = ""
    kv_dtype: Dtype = "bf16"
    engine: Engine = ""
