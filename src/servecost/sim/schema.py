"""The scenario file, checked: SCENARIO.yaml -> ScenarioIn (pydantic, the input boundary). Bad keys get one
line naming the key and the allowed values; scenario.py builds the fleet from a checked ScenarioIn.

    model: llama-3.3-70b          # catalogue id or a Hugging Face config.json
    hardware: h100-sxm
    engine: vllm                  # calibrated factors (trtllm | vllm | sglang; empty: all engines)
    weight_dtype: fp8             # optional; default native
    kv_dtype: fp8
    deployment: {tp: 4}           # optional; default: plan's cheapest aggregated deployment at `speed`
    speed: 50                     # tokens/s per user the default deployment must give
    fleet: {replicas: 64, router: least_tokens, max_seqs: 256, token_budget: 8192}
    slo: {ttft_s: 2.0, tpot_s: 0.05}
    duration_s: 3600
    seed: 0
    workload:
      streams:
        - {class: interactive, arrival: poisson, rate_per_s: 400, input_tokens: 1000, output_tokens: 500}
        - {class: batch, arrival: poisson, rate_per_s: 50, deadline_s: 86400}
      trace: requests.csv         # optional: replayed as well
"""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError, refuse_special_file, short
from ..schema import FIXES
from ..speculative import MTP_ACCEPTANCE_FRAC
from . import workload
from .engine import ROUTERS


KV_TRANSFER_LATENCY_S = 2e-3   # RDMA connection setup and first byte; an estimate
MAX_YAML_BYTES = 1_000_000     # a scenario or sweep file (the examples are under 2 kB)
MAX_YAML_NODES = 100_000       # values once YAML aliases are expanded (an alias bomb expands to billions)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


class StreamIn(_Strict):
    klass: Literal["interactive", "batch"] = Field("interactive", alias="class")
    arrival: Literal["poisson", "bursty", "diurnal"] = "poisson"
    rate_per_s: float = Field(0.0, ge=0, le=1e7)      # open loop: mean arrivals per second (0: off)
    cv: float = Field(1.0, gt=0, le=100)
    peak_to_mean: float = Field(2.0, ge=1, le=2)
    peak_hour: float = Field(14.0, ge=0, lt=24)
    day_s: float = Field(86400.0, gt=0, le=1e9)
    input_tokens: float = Field(1000, ge=1, le=workload.MAX_TOKENS)
    input_spread: float = Field(0.0, ge=0, le=3)
    output_tokens: float = Field(500, ge=1, le=workload.MAX_TOKENS)
    output_spread: float = Field(0.0, ge=0, le=3)
    lengths_from: str = Field("", max_length=4096)    # trace CSV whose (input, output) pairs are resampled
    prefix_cache_hit: float = Field(0.0, ge=0, le=1)  # share of each prompt served from the prefix cache
    deadline_s: float = Field(86400.0, gt=0, le=1e9)  # batch requests: done within this long
    count: int = Field(0, ge=0, le=1_000_000_000)     # requests to draw (closed loop default: 10 per client)


class WorkloadIn(_Strict):
    streams: list[StreamIn] = Field(default_factory=list, max_length=100)
    trace: str = Field("", max_length=4096)
    clients: int = Field(0, ge=0, le=100_000)         # > 0: closed loop, as a benchmark with that concurrency
    ramp_s: float = Field(0.0, ge=0, le=1e9)          # closed loop: the clients start spread over this long


class DeploymentIn(_Strict):
    tp: int = Field(1, ge=1, le=4096)
    pp: int = Field(1, ge=1, le=4096)
    ep: int = Field(1, ge=1, le=4096)
    dp_attn: int = Field(1, ge=1, le=4096)


class FleetIn(_Strict):
    replicas: int = Field(1, ge=1, le=100_000)
    prefill_replicas: int = Field(0, ge=0, le=100_000)
    router: Literal[ROUTERS] = "least_tokens"
    max_seqs: int = Field(0, ge=0, le=65_536)         # 0: the deployment's batch (plan) or 256
    token_budget: int = Field(8192, ge=16, le=1_000_000)  # per attention-DP rank, as each rank schedules its own
    kv_tokens: int = Field(0, ge=0, le=10**15)        # 0: what the memory left beside the weights holds
    batch_max_seqs: int = Field(0, ge=0, le=65_536)
    kv_transfer_latency_s: float = Field(KV_TRANSFER_LATENCY_S, ge=0, le=3600)
    prefill_hardware: str = Field("", max_length=64)   # prefill replicas on this accelerator (a mixed fleet)
    prefill_deployment: DeploymentIn | None = None   # their layout (default: plan's prefill worker search)


class SpeculationIn(_Strict):
    draft_tokens: int = Field(0, ge=0, le=8)          # drafts per step (0: plain decoding)
    acceptance_frac: float = Field(MTP_ACCEPTANCE_FRAC, ge=0, le=1)
    method: Literal["mtp", "eagle3"] = "mtp"          # the model's MTP heads, or an EAGLE-3 draft head


class SloIn(_Strict):
    ttft_s: float = Field(2.0, gt=0, le=1e6)
    tpot_s: float = Field(0.05, gt=0, le=1e6)


class ScenarioIn(_Strict):
    name: str = Field("scenario", max_length=200)
    model: str = Field(max_length=4096)
    hardware: str = Field(max_length=64)
    engine: str = Field("", max_length=16)
    weight_dtype: str = Field("", max_length=16)
    expert_dtype: str = Field("", max_length=16)
    kv_dtype: str = Field("bf16", max_length=16)
    deployment: DeploymentIn | None = None
    speed: float = Field(50.0, gt=0, le=10_000)
    speculation: SpeculationIn = SpeculationIn()
    fleet: FleetIn = FleetIn()
    slo: SloIn = SloIn()
    duration_s: float = Field(3600.0, gt=0, le=30 * 86400)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    workload: WorkloadIn


_MODELS = {"": ScenarioIn, "workload": WorkloadIn, "deployment": DeploymentIn, "fleet": FleetIn, "slo": SloIn,
           "streams": StreamIn, "speculation": SpeculationIn}


def _one_line(exc: ValidationError, source: str) -> InputError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc) or "scenario"
    if err["type"] == "extra_forbidden":
        parent = next((p for p in reversed(loc[:-1]) if p in _MODELS), "")
        allowed = ", ".join(f.alias or n for n, f in _MODELS[parent].model_fields.items())
        return InputError(f"{source}: unknown key {key!r}; allowed keys here: {allowed}")
    if err["type"] == "missing":
        return InputError(f"{source}: missing key {key!r}")
    fix = FIXES.get(err["type"], "see examples/ for a valid scenario")
    return InputError(f"{source}: {key}={short(err.get('input'))}: {err['msg'][0].lower() + err['msg'][1:]}; {fix}")


def _nodes(value, budget: int) -> int:
    """Values in a parsed YAML document, counting each alias as often as it is used, up to `budget`."""
    stack, seen = [value], 0
    while stack and seen <= budget:
        v = stack.pop()
        seen += 1
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return seen


def parse(data: dict, source: str = "scenario") -> ScenarioIn:
    if not isinstance(data, dict):
        raise InputError(f"{source}: a scenario is a YAML mapping with keys model, hardware, fleet, workload, ...")
    try:
        return ScenarioIn(**data)
    except ValidationError as exc:
        raise _one_line(exc, source) from None


def read(path: str | Path) -> dict:
    """The YAML mapping of a scenario (or sweep) file."""
    p = Path(path)
    try:
        refuse_special_file(p, "scenario", "the path of a scenario YAML")
        if p.stat().st_size > MAX_YAML_BYTES:
            raise InputError(f"{path}: {p.stat().st_size:,} bytes; a scenario is a few kB (at most "
                             f"{MAX_YAML_BYTES:,}): replay long request lists as a trace CSV")
        text = p.read_text()
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; give the path of a scenario YAML (see examples/)") from None
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{path}: no such file; give the path of a scenario YAML (see examples/)") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = str(getattr(exc, 'problem', None) or exc).splitlines()[0][:120]
        raise InputError(f"{path}:{where} is not valid YAML ({problem})") from None
    except RecursionError:
        raise InputError(f"{path}: nests deeper than a scenario does; flatten it") from None
    if _nodes(data, MAX_YAML_NODES) > MAX_YAML_NODES:
        raise InputError(f"{path}: over {MAX_YAML_NODES:,} values once its aliases (&, *) are expanded; "
                         "a scenario has a few dozen: remove the repeated aliases")
    return data


def load(path: str | Path, overrides: dict | None = None) -> ScenarioIn:
    data = read(path)
    return parse(apply(data, overrides or {}), str(path))


def apply(data: dict, overrides: dict) -> dict:
    """A copy of `data` with dotted keys set (`fleet.router`, `workload.streams.0.rate_per_s`)."""
    import copy
    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        node = out
        keys = dotted.split(".")
        for k in keys[:-1]:
            try:
                node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
            except (IndexError, ValueError, AttributeError):
                raise InputError(f"grid key {dotted!r}: {k!r} does not exist in the scenario") from None
        if isinstance(node, list):
            try:
                node[int(keys[-1])] = value
            except (IndexError, ValueError):
                raise InputError(f"grid key {dotted!r}: {keys[-1]!r} is not an index of the list") from None
        else:
            node[keys[-1]] = value
    return out
