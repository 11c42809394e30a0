"""`simulate` and `sweep`: the discrete-event fleet simulator from the command line."""

import sys
from typing import Optional

import typer

from .. import report
from .app import (app, ForceOpt, Format, FormatOpt)


@app.command()
def simulate(
    scenario: str = typer.Argument(..., help="Scenario YAML (see examples/)."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Folder for summary.json, requests.csv, "
                                                                      "timeseries.csv and charts."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default: the scenario's)."),
    max_events: float = typer.Option(2e9, help="Refuse a run estimated at more events than this."),
    max_memory_gb: float = typer.Option(8.0, help="Refuse a run estimated to take more memory than this."),
    force: ForceOpt = False,
    format: FormatOpt = Format.table,
):
    """Discrete-event simulation of a serving fleet: latency percentiles per class, goodput, queues, energy."""
    from pathlib import Path as _Path

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from .. import schema
    from ..sim import output as sim_output, scenario as sim_scenario
    from ..sim.run import run

    limits = schema.sim_limits(max_events, max_memory_gb, seed)
    if output:
        schema.output_folder(output, "output", force)
    spec = sim_scenario.load(scenario)
    built = sim_scenario.build(spec, _Path(scenario).parent, seed, limits)
    n = len(built.requests)
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} arrivals"),
                  TimeRemainingColumn(), transient=True, disable=n < 100_000 or not sys.stderr.isatty(),
                  console=None) as bar:
        task = bar.add_task("sim", total=n)
        result = run(spec, built=built, seed=seed, progress=lambda i: bar.update(task, completed=i), limits=limits)
    files = sim_output.write(result, output) if output else []
    if format == Format.json:
        import json
        report.emit(json.dumps(result.as_dict() | {"files": files}, indent=2), "json")
    else:
        report.emit(sim_output.table(result.summary), "table")
        if files:
            report.emit("wrote " + ", ".join(files), "table")
    if result.summary.overload:
        print(f"warning: {result.summary.overload}", file=sys.stderr)


SWEEP_COLUMNS = {"offered_load_frac": "load", "interactive_ttft_p99_s": "int. TTFT p99 s",
                 "interactive_tpot_p99_s": "int. TPOT p99 s", "interactive_met_target_frac": "int. met SLO",
                 "batch_output_tokens": "batch tokens", "batch_deadline_misses": "batch misses",
                 "output_tokens_per_s": "output tok/s", "preemptions": "preempted",
                 "energy_j_per_output_token": "J/token", "usd_per_mtok_output": "$/Mtok",
                 "overloaded": "overloaded"}


@app.command()
def sweep(
    sweep_file: str = typer.Argument(..., metavar="SWEEP", help="Sweep YAML: scenario, grid of dotted keys, seeds."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Write the table (.csv or .json)."),
    ray: Optional[str] = typer.Option(None, "--ray", envvar="RAY_ADDRESS",
                                      help="Ray cluster address ('local' starts one); default: a local process pool."),
    workers: Optional[int] = typer.Option(None, help="Processes of the local pool (default: all cores)."),
    force: ForceOpt = False,
    format: FormatOpt = Format.table,
):
    """Many scenarios x seeds through the simulator, on a process pool or Ray; one table of results."""
    import json

    import pandas as pd
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .. import schema
    from ..sim.sweep import sweep as run_sweep

    schema.validate(schema.SweepInput, workers=workers)
    if output:
        schema.output_file(output, "--output", (".csv", ".json"), force)

    with Progress(TextColumn("sweep"), BarColumn(), TextColumn("{task.completed}/{task.total} runs"),
                  TimeElapsedColumn(), transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("sweep", total=None)
        rows = run_sweep(sweep_file, ray, workers, lambda done, total: bar.update(task, completed=done, total=total))
    frame = pd.DataFrame(rows)
    if output:
        (frame.to_json(output, orient="records", indent=2) if output.endswith(".json")
         else frame.to_csv(output, index=False, float_format="%.6g"))
    if format == Format.json:
        report.emit(json.dumps(rows, indent=2, default=float), "json")
    elif format == Format.csv:
        report.emit(frame.to_csv(index=False, float_format="%.6g"), "csv")
    else:
        keys = [c for c in frame.columns if "." in c or c == "seed"]
        shown = keys + [c for c in SWEEP_COLUMNS if c in frame.columns]
        report.emit(report.frame_table(frame[shown].rename(columns=SWEEP_COLUMNS),
                                       f"sweep: {len(rows)} runs" + (f" -> {output} (all columns)" if output else "")),
                    "table")
