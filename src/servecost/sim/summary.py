"""A simulation's summary as frozen dataclasses; `as_dict()` gives the JSON of `servecost simulate
--format json` and `summary.json` (same keys, same order), the only place the summary becomes a dict.

    Summary                      one run: scenario, seed, what was simulated and what it cost
      .deployment  DeploymentSummary   layout, dtypes, batch limits and chips of the fleet
      .slo         SloSummary          the interactive targets, s
      .classes     {name: ClassSummary}   per class (interactive, batch) present in the workload
                     .ttft_s .tpot_s .itl_s .e2e_s   Stats (mean, p50, p90, p99; s)
      .fleet       FleetSummary        throughput, utilisation, queues, KV, energy
      .cost        CostSummary         $/hour at the mean chip power and $ per Mtok served

A field marked OMIT_NONE is left out of `as_dict()` while it is None (a key today's JSON has only for
batch classes, mixed fleets or overloaded runs); other None values are written as null.
"""

from dataclasses import dataclass, field, fields

from ..economics import Assumptions

OMIT_NONE = {"omit_none": True}


def _plain(value):
    """A value as JSON holds it: records through their as_dict(), a dict of records value by value."""
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def record_dict(record) -> dict:
    """The fields of a dataclass record in declaration order, nested records as dicts; None fields
    marked OMIT_NONE left out."""
    out = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if value is None and f.metadata.get("omit_none"):
            continue
        out[f.name] = _plain(value)
    return out


class _Record:
    """A summary record: `as_dict()` is its fields in declaration order (record_dict)."""
    __slots__ = ()

    def as_dict(self) -> dict:
        return record_dict(self)


@dataclass(frozen=True, slots=True)
class Stats(_Record):
    """Mean and percentiles of a latency over the finished requests of a class, s (None: none finished)."""
    mean: float | None
    p50: float | None
    p90: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class ClassSummary(_Record):
    """One class of requests (interactive or batch): counts, latencies, targets met, goodput."""
    requests: int
    completed: int
    ttft_s: Stats
    tpot_s: Stats
    itl_s: Stats                     # weighted by the tokens each step made
    e2e_s: Stats
    met_target_frac: float           # SLO (interactive) or deadline (batch) met, over all of the class
    goodput_rps: float
    preemptions: int
    deadline_misses: int | None = field(default=None, metadata=OMIT_NONE)      # batch only
    output_tokens_done: int | None = field(default=None, metadata=OMIT_NONE)   # batch only


@dataclass(frozen=True, slots=True)
class FleetSummary(_Record):
    """The whole fleet over the simulated time."""
    output_tokens_per_s: float
    requests_per_s: float
    utilisation_mean: float
    utilisation_min: float
    utilisation_max: float
    preemptions: int
    peak_queued: int
    peak_kv_frac: float
    energy_kwh: float
    energy_j_per_output_token: float | None
    slot_occupancy_mean: float


@dataclass(frozen=True, slots=True)
class CostSummary(_Record):
    """Fleet cost at the simulated mean chip power (own hardware; economics.py)."""
    mean_chip_power_w: float
    usd_per_hour: float
    usd_per_mtok_output: float | None
    assumptions: Assumptions


@dataclass(frozen=True, slots=True)
class DeploymentSummary(_Record):
    """What was simulated: model, accelerator, layout, dtypes, batch limits and chips; the prefill_*
    fields only for a mixed fleet (prefill replicas on another accelerator)."""
    model: str
    hardware: str
    engine: str
    tp: int
    pp: int
    ep: int
    dp_attn: int
    chips_per_replica: int
    weight_dtype: str
    expert_dtype: str
    kv_dtype: str
    draft_tokens: int
    max_seqs: int
    token_budget: int
    kv_tokens_per_replica: int
    replicas: int
    prefill_replicas: int
    chips: int                       # all replicas, both pools
    prefill_hardware: str | None = field(default=None, metadata=OMIT_NONE)
    prefill_chips_per_replica: int | None = field(default=None, metadata=OMIT_NONE)
    prefill_tp: int | None = field(default=None, metadata=OMIT_NONE)
    prefill_dp_attn: int | None = field(default=None, metadata=OMIT_NONE)
    prefill_pp: int | None = field(default=None, metadata=OMIT_NONE)
    prefill_ep: int | None = field(default=None, metadata=OMIT_NONE)

    @property
    def all_replicas(self) -> int:
        """Replicas of both pools."""
        return self.replicas + self.prefill_replicas


@dataclass(frozen=True, slots=True)
class SloSummary(_Record):
    """The interactive targets the run was measured against, s."""
    ttft_s: float
    tpot_s: float


@dataclass(frozen=True, slots=True)
class Summary(_Record):
    """One simulation run. `classes` maps "interactive" / "batch" to a ClassSummary (only the classes
    the workload has); `overload` is the one-line warning of an overloaded run, else None."""
    scenario: str
    seed: int
    deployment: DeploymentSummary
    slo: SloSummary
    offered_load_frac: float         # offered requests/s over the fleet's analytical capacity
    request_overhead_s: float
    requests: int
    completed: int
    overloaded: bool
    simulated_s: float
    steps: int
    events: int
    classes: dict[str, ClassSummary]
    fleet: FleetSummary
    wall_s: float
    simulated_requests_per_wall_s: float
    steps_per_wall_s: float
    cost: CostSummary
    overload: str | None = field(default=None, metadata=OMIT_NONE)
