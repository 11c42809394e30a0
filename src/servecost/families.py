"""How each hardware family executes a step: what it pays besides the roofline of its operators.

One roofline engine serves every chip (roofline.py); a family states its fixed costs:

    t_step = pp * (t_stage + t_hop) + t_host (not overlapped)
    t_stage = sum_op roofline(op) + t_comm + (L / pp) * t_layer

    GPU       kernels launched per layer (t_layer: launch + small-kernel latency, CUDA/HIP graphs);
              host scheduling, sampling and detokenising per step and per running sequence, which
              an engine overlaps with the device or not. Fitted on measured runs (profiles.py).
    graph     TPU, Trainium, Gaudi: the whole step is one compiled graph (XLA, Neuron, HPU graphs),
              so no per-kernel launch; a per-layer cost of the graph's small ops and collectives,
              one dispatch per step from the host.
    dataflow  Cerebras wafers, Groq LPUs, SambaNova RDUs: statically scheduled, no kernel launches
              and no host in the step; t_layer is the latency of a layer's pipeline on the fabric
              (fill and drain of its operators), t_hop the fixed latency of the link between chips
              or wafers that a pipelined token crosses.

Each family also states its runtime memory reserve (the share of device memory a serving runtime
does not give to weights and KV) and whether it draws load power whenever it serves (a static
schedule keeps every unit clocked; a GPU's draw follows its utilisation).
The figures and their sources are in data/families.yaml; `servecost calibrate` fits the GPU
overheads, and a family's own measured runs refit its factors (data/profiles.yaml).
"""

from dataclasses import dataclass, fields, replace
from functools import cache
from importlib import resources

import yaml

from .efficiency import Efficiency
from .errors import InputError

EXECUTIONS = ("kernels", "graph", "dataflow")


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    execution: str                 # kernels | graph | dataflow
    reserve_frac: float            # share of device memory kept from weights and KV by the runtime
    static_power: bool             # draws load power whenever it serves (statically scheduled)
    overheads: dict                # Efficiency fields the family states (empty: the fitted GPU values)
    sources: str = ""
    engine: str = ""               # the serving software a plan assumes, where its published rows name several

    def efficiency(self, carried: Efficiency) -> Efficiency:
        """The fitted kernel factors carried over, with this family's own stated overheads."""
        return replace(carried, **self.overheads)


def _family(name: str, row: dict) -> Family:
    known = {f.name for f in fields(Efficiency)}
    overheads = row.get("overheads") or {}
    bad = set(overheads) - known
    if bad:
        raise InputError(f"data/families.yaml {name}: unknown factor(s) {sorted(bad)}; known: {sorted(known)}")
    if row.get("execution") not in EXECUTIONS:
        raise InputError(f"data/families.yaml {name}: execution must be one of {EXECUTIONS}")
    return Family(name=name, execution=row["execution"], reserve_frac=float(row["reserve_frac"]),
                  static_power=bool(row.get("static_power", False)),
                  overheads={k: float(v) for k, v in overheads.items()}, sources=str(row.get("sources", "")),
                  engine=str(row.get("engine", "")))


@cache
def catalogue() -> dict[str, Family]:
    """Every family by name (data/families.yaml)."""
    data = yaml.safe_load(resources.files("servecost").joinpath("data/families.yaml").read_text())
    return {name: _family(name, row) for name, row in data["families"].items()}


def get(name: str) -> Family:
    fams = catalogue()
    if name not in fams:
        raise InputError(f"family={name!r} is not known; use one of {', '.join(fams)}")
    return fams[name]
