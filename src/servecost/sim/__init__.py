"""Discrete-event simulation of a serving fleet: workload -> router -> continuous-batching replicas.

From Python (a notebook):

    from servecost.sim import simulate
    result = simulate("examples/batch-tier.yaml")          # or a dict with the same keys
    result.summary.classes["interactive"].ttft_s.p99       # summary: a sim.summary.Summary (attributes)
    result.summary.fleet.output_tokens_per_s
    result.as_dict()                                         # the summary as JSON holds it (summary.json)
    result.requests_frame()                                  # one row per request (pandas)
"""

from pathlib import Path


def simulate(scenario: str | Path | dict, seed: int | None = None):
    """Run a scenario (YAML path or mapping); returns a sim.run.Result (its `summary`: sim.summary.Summary)."""
    from . import schema as sc
    from .run import run

    if isinstance(scenario, dict):
        return run(sc.parse(scenario), Path("."), seed)
    return run(sc.load(scenario), Path(scenario).parent, seed)
