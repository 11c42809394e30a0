"""One request model per command, for the CLI and the HTTP API alike: the options under the same
names, bounded so that one request cannot hog the machine. Catalogue ids and dtypes are checked
here, so a bad one is one line naming its field. A model is a catalogue id or a pasted config.json;
a path to a config.json only from the command line (validation context `{"cli": True}`)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from .. import hardware as hw_cat, models, workloads
from ..dtypes import canonical
from ..economics import Assumptions
from ..errors import InputError, suggest
from ..models import ModelSpec
from .bounds import Degree, HitFrac, PrefixTokens, Pue, Speed, Tokens, UsdPerKwh, Users, _Strict
from .files import hardware_rows

MAX_HARDWARE = 32                 # ids per request (the catalogue has 19)
MAX_SPEEDS = 50                   # speeds per power table
MAX_MONTE_CARLO = {"api": 200_000, "cli": 10_000_000}   # samples per plan
MAX_CONFIG_KEYS, MAX_CONFIG_DEPTH = models.MAX_CONFIG_KEYS, models.MAX_CONFIG_DEPTH   # as for a --model PATH
COSTS = Assumptions()             # the defaults of every cost option

Engine = Literal["", "trtllm", "vllm", "sglang"]
Precisions = Literal["native", "all"]
Pricing = Literal["own", "cloud"]
SpeculationMethod = Literal["auto", "none", "mtp1", "mtp3", "eagle3"]
Range = Annotated[tuple[Annotated[float, Field(ge=0, le=100)], Annotated[float, Field(ge=0, le=100)]],
                  Field(description="[low, high]")]


def _cli(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("cli"))


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
        text = str(exc)
        raise ValueError(text if _cli(info) else text.replace("`servecost hardware`", "GET /api/hardware")) from None


def _unique(v: list[str]) -> list[str]:
    return list(dict.fromkeys(v))


def _own_chips(v: list[dict]) -> list[dict]:
    try:
        hardware_rows(v, "chips")
    except InputError as exc:
        raise ValueError(str(exc)) from None
    return v


Dtype = Annotated[str, Field(max_length=16), AfterValidator(_dtype)]
HardwareId = Annotated[str, Field(max_length=64, description="Hardware id (GET /api/hardware).",
                                  json_schema_extra={"enum": list(hw_cat.catalogue())}),
                       AfterValidator(_hardware_id)]
HardwareIds = Annotated[list[HardwareId], Field(max_length=MAX_HARDWARE, description="Empty: the whole catalogue."),
                        AfterValidator(_unique)]
Chips = Annotated[list[dict], Field(max_length=8, description="Your own chips: mappings of the catalogue's columns "
                                    "(GET /api/hardware?format=csv), named by their id in `hardware`."),
                  AfterValidator(_own_chips)]
PrefillHardware = Annotated[str, Field(max_length=64, description="Prefill pool on this hardware id (mixed fleet).")]


class ModelRequest(_Strict):
    """A model: a catalogue id, or a pasted Hugging Face config.json (`config`, used when given); your
    own chips (`chips`) beside the catalogue."""
    model: str = Field("kimi-k2", max_length=4096, description="Catalogue id (GET /api/models).",
                       json_schema_extra={"enum": list(models.catalogue())})
    config: dict | None = Field(None, description="A Hugging Face config.json; replaces `model` when given.")
    chips: Chips = []

    @field_validator("model")
    @classmethod
    def _catalogue_id(cls, v: str, info: ValidationInfo) -> str:
        key = v.strip().lower()
        if key in models.catalogue():
            return key
        if _cli(info):
            return v                       # a path to a config.json: read (and checked) by spec()
        if len(v) > 64 or key not in models.catalogue():
            raise ValueError(f"model={v[:64]!r} is not a catalogue id{suggest(key[:64], models.catalogue())}; "
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

    @property
    def label(self) -> str:
        """The model as outputs name it: the id (or path) given, or `custom` for a pasted config.json."""
        return self.model if self.config is None else models.CUSTOM_ID

    def spec(self) -> ModelSpec:
        """The ModelSpec, resolved once: the pasted config, the catalogue entry, or the config.json file."""
        return models.from_pasted(self.config) if self.config is not None else models.get(self.model)


class FleetRequest(ModelRequest):
    """A model on a list of accelerators (empty: the whole catalogue)."""
    hardware: HardwareIds = []
    input_tokens: Tokens = 2000
    output_tokens: Tokens = 500
    engine: Engine = ""
    precisions: Precisions = "native"


class Costs(_Strict):
    """The cost assumptions (plan's options; frontier takes them too)."""
    pricing: Pricing = "own"
    lifetime_years: float = Field(COSTS.lifetime_years, ge=0.5, le=30)
    cost_of_capital: float = Field(COSTS.cost_of_capital_frac, ge=0, le=1)
    usd_per_kwh: UsdPerKwh = COSTS.usd_per_kwh
    pue: Pue = COSTS.pue
    load: float = Field(COSTS.load_frac, ge=0.01, le=1)
    other_opex: float = Field(COSTS.other_opex_frac, ge=0, le=10)

    def assumptions(self, load: float | None = None) -> Assumptions:
        return Assumptions(pricing=self.pricing, lifetime_years=self.lifetime_years,
                           cost_of_capital_frac=self.cost_of_capital, usd_per_kwh=self.usd_per_kwh, pue=self.pue,
                           load_frac=self.load if load is None else load, other_opex_frac=self.other_opex)


class Serving(_Strict):
    """How the searched deployments serve: speculation, pools, prefix cache, expert rebalancing."""
    speculation: bool = True
    disaggregation: bool = True
    speculation_method: SpeculationMethod = "auto"
    prefix_cache_hit: HitFrac = 0.0
    prefix_tokens: PrefixTokens = 0
    prefill_hardware: PrefillHardware = ""
    expert_rebalancing: bool = True

    def serving_fields(self) -> dict:
        """The Scenario fields these options set."""
        method = self.speculation_method if self.speculation else "none"
        return {"speculation": method != "none", "disaggregation": self.disaggregation,
                "speculation_method": method, "prefix_cache_hit_frac": self.prefix_cache_hit,
                "prefix_tokens": self.prefix_tokens, "prefill_hardware": self.prefill_hardware.strip(),
                "expert_rebalancing": self.expert_rebalancing}


class PlanRequest(FleetRequest, Costs, Serving):
    """`servecost plan`: users at a speed; `workload` presets the lengths and the prefix-cache hit rate
    (explicit values override); `daily_users` sizes the streams from daily users."""
    users: Users = 1_000_000
    speed: Speed = 50.0
    workload: Literal["chat", "agentic", "batch"] | None = None
    weight_dtype: Dtype = ""
    expert_dtype: Dtype = ""
    kv_dtype: Dtype = "bf16"
    daily_users: int | None = Field(None, gt=0, le=100_000_000_000)
    sessions_per_day: float = Field(3.0, gt=0, le=1000)
    requests_per_session: float = Field(5.0, gt=0, le=1000)
    peak_to_mean: float = Field(2.0, ge=1, le=100)
    monte_carlo: int = Field(0, description="Samples (0: off, else 100 to 200,000 over HTTP, 10M from the CLI).")
    price_range: Range = (0.8, 1.2)
    kwh_range: Range = (0.05, 0.12)
    load_range: Range = (0.6, 1.0)

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data):
        """A workload's lengths and hit rate where the request gives none."""
        if isinstance(data, dict) and isinstance(data.get("workload"), str) and data["workload"] in workloads.WORKLOADS:
            given = [data.get(k) for k in ("input_tokens", "output_tokens", "prefix_cache_hit")]
            data = data | dict(zip(("input_tokens", "output_tokens", "prefix_cache_hit"),
                                   workloads.resolve(data["workload"], *given)))
        return data

    @model_validator(mode="after")
    def _ranges(self, info: ValidationInfo):
        limit = MAX_MONTE_CARLO["cli" if _cli(info) else "api"]
        if not (self.monte_carlo == 0 or 100 <= self.monte_carlo <= limit):
            raise ValueError(f"monte_carlo={self.monte_carlo}: give 0 (off) or 100 to {limit:,} samples")
        for name in ("price_range", "kwh_range", "load_range"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name}={[low, high]}: low must be <= high")
        if not 0 < self.load_range[0] <= self.load_range[1] <= 1:
            raise ValueError(f"load_range={list(self.load_range)}: give 0 < low <= high <= 1")
        return self


class FrontierRequest(FleetRequest, Costs, Serving):
    """`servecost frontier`: every deployment's throughput against interactivity."""
    precisions: Precisions = "all"
    speed: float | None = Field(None, ge=0.1, le=10_000, description="Mark this speed and plan's pick at it.")


class BatchRequest(FleetRequest):
    """`servecost batch-discount`: batch work with a deadline against interactive work."""
    speed: Speed = 50.0
    deadline_hours: float = Field(24.0, ge=0.01, le=24 * 366)
    prefix_cache_hit: HitFrac = 0.0
    peak_to_mean: float = Field(2.0, ge=1, le=100)
    pricing: Pricing = "own"
    usd_per_kwh: UsdPerKwh = COSTS.usd_per_kwh
    pue: Pue = COSTS.pue


class PowerRequest(FleetRequest):
    """`servecost power`: the users a facility power budget serves at each speed."""
    budget_mw: float = Field(100.0, ge=0.001, le=100_000, description="Facility power budget, MW.")
    speeds: list[Speed] = Field([10, 20, 30, 50, 75, 100, 150, 200, 300], min_length=1, max_length=MAX_SPEEDS)
    pue: Pue = COSTS.pue


class OutlookRequest(_Strict):
    """`servecost outlook`: the coming years' models on today's and announced hardware."""
    chips: Chips = []
    years: int = Field(3, ge=0, le=20)
    speed: Speed = 50.0
    hardware: HardwareIds = []
    engine: Engine = ""
    lifetime_years: float = Field(COSTS.lifetime_years, ge=0.5, le=30)


class PredictRequest(ModelRequest):
    """`servecost predict`: one decode step or one prefill on one replica."""
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
