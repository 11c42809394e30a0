"""`servecost sweep SWEEP.yaml`: many scenarios x seeds, on a local process pool or a Ray cluster.

    scenario: batch-tier.yaml          # a scenario file (relative to this file) or an inline mapping
    grid:                              # dotted keys of the scenario -> values; every combination runs
      workload.streams.1.rate_per_s: [0, 40, 80]
      fleet.router: [least_tokens, round_robin]
    seeds: [0, 1, 2]

Each task is a pure function of (scenario, seed), so a pool and Ray give identical rows; the rows
come back in grid order whatever order the workers finish in.
"""

import itertools
import math
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError
from . import schema as scenario
from .run import run


MAX_RUNS = 10_000     # grid points x seeds of one sweep (each run takes 0.01 s to minutes)


class SweepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: str | dict
    grid: dict[str, list] = Field(default_factory=dict, max_length=32)
    seeds: list[Annotated[int, Field(ge=0, le=2**63 - 1)]] = Field(default_factory=lambda: [0], min_length=1,
                                                                  max_length=MAX_RUNS)


def parse(path: str | Path) -> tuple[dict, Path, list[dict], list[int]]:
    """(scenario mapping, its folder, one override dict per grid point, seeds)."""
    data = scenario.read(path)
    try:
        sw = SweepIn(**(data if isinstance(data, dict) else {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise InputError(f"{path}: unknown key {key!r}; allowed keys: scenario, grid, seeds") from None
        raise InputError(f"{path}: {key}: {err['msg'].lower()[:100]} (scenario: path or mapping; grid: "
                         "{dotted.key: [values]}; seeds: [ints])") from None
    folder = Path(path).parent
    if isinstance(sw.scenario, str):
        base = scenario.read(folder / sw.scenario)
        folder = (folder / sw.scenario).parent
    else:
        base = sw.scenario
    for key, values in sw.grid.items():
        if not values:
            raise InputError(f"{path}: grid.{key} is empty; give at least one value")
    runs = math.prod(len(v) for v in sw.grid.values()) * len(sw.seeds)
    if runs > MAX_RUNS:
        sizes = " x ".join(str(len(v)) for v in sw.grid.values())
        raise InputError(f"{path}: grid {sizes} x {len(sw.seeds)} seeds is {runs:,} runs; at most {MAX_RUNS:,}: "
                         "give fewer values per grid key, or split the sweep")
    points = [dict(zip(sw.grid, combo)) for combo in itertools.product(*sw.grid.values())] or [{}]
    for p in points:                      # fail fast, before any worker starts
        scenario.parse(scenario.apply(base, p), f"{path} (grid point {p})")
    return base, folder, points, sw.seeds


def run_task(base: dict, folder: str, overrides: dict, seed: int) -> dict:
    """One grid point and seed -> one flat row of results."""
    spec = scenario.parse(scenario.apply(base, overrides))
    s = run(spec, Path(folder), seed=seed).summary
    row = dict(overrides) | {"seed": seed, "requests": s.requests, "completed": s.completed,
                             "overloaded": s.overloaded, "offered_load_frac": s.offered_load_frac,
                             "simulated_s": s.simulated_s}
    for name, c in s.classes.items():
        row |= {f"{name}_ttft_p50_s": c.ttft_s.p50, f"{name}_ttft_p99_s": c.ttft_s.p99,
                f"{name}_tpot_p50_s": c.tpot_s.p50, f"{name}_tpot_p99_s": c.tpot_s.p99,
                f"{name}_met_target_frac": c.met_target_frac, f"{name}_goodput_rps": c.goodput_rps}
        if c.deadline_misses is not None:
            row |= {"batch_deadline_misses": c.deadline_misses, "batch_output_tokens": c.output_tokens_done}
    f = s.fleet
    row |= {"output_tokens_per_s": f.output_tokens_per_s, "utilisation": f.utilisation_mean,
            "preemptions": f.preemptions, "energy_j_per_output_token": f.energy_j_per_output_token,
            "usd_per_mtok_output": s.cost.usd_per_mtok_output}
    return row


def sweep(path: str | Path, ray_address: str | None = None, workers: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Every grid point x seed; rows in grid order. Ray when `ray_address` is given ('local' starts one)."""
    base, folder, points, seeds = parse(path)
    tasks = [(base, str(folder.resolve()), p, s) for p in points for s in seeds]
    if ray_address:
        return _on_ray(tasks, ray_address, progress)
    rows: list = [None] * len(tasks)
    n = min(workers or os.cpu_count() or 1, len(tasks))
    if n <= 1:
        for i, t in enumerate(tasks):
            rows[i] = run_task(*t)
            progress and progress(i + 1, len(tasks))
        return rows
    with ProcessPoolExecutor(max_workers=n) as pool:
        futures = {pool.submit(run_task, *t): i for i, t in enumerate(tasks)}
        from concurrent.futures import as_completed
        for done, fut in enumerate(as_completed(futures), 1):
            rows[futures[fut]] = fut.result()
            progress and progress(done, len(tasks))
    return rows


def _on_ray(tasks: list, address: str, progress) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'servecost[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(run_task)
        refs = [remote.remote(*t) for t in tasks]
        index = {ref: i for i, ref in enumerate(refs)}
        rows: list = [None] * len(tasks)
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                rows[index[ref]] = ray.get(ref)
            progress and progress(len(tasks) - len(pending), len(tasks))
        return rows
    finally:
        if started:
            ray.shutdown()
