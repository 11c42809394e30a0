"""Writing a simulation's results: summary JSON, per-request and time-series CSV, charts, a table."""

import json
from pathlib import Path

from rich.table import Table

from . import charts
from .run import Result
from .summary import Stats, Summary


def write(result: Result, outdir: str | Path, charts_too: bool = True) -> list[str]:
    """summary.json, requests.csv, timeseries.csv, latency_cdf.png, timeline.png under `outdir`."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    s = result.summary
    (out / "summary.json").write_text(json.dumps(result.as_dict(), indent=2))
    frame = result.requests_frame()
    frame.to_csv(out / "requests.csv", index=False, float_format="%.6g")
    result.series_frame().to_csv(out / "timeseries.csv", index=False, float_format="%.6g")
    files = ["summary.json", "requests.csv", "timeseries.csv"]
    if charts_too:
        d = s.deployment
        title = f"{s.scenario}: {d.model} on {d.all_replicas} x {d.chips_per_replica} {d.hardware}"
        charts.latency_cdf_png(frame, s.slo, title, out / "latency_cdf.png")
        charts.timeline_png(frame, result.trace.series, d.max_seqs * d.all_replicas, title, out / "timeline.png")
        files += ["latency_cdf.png", "timeline.png"]
    return [str(out / f) for f in files]


def _ms(stats: Stats) -> str:
    if stats.p50 is None:
        return "-"
    return " / ".join(f"{q * 1e3:,.0f}" for q in (stats.p50, stats.p90, stats.p99))


def table(s: Summary) -> Table:
    d = s.deployment
    t = Table(title=f"{s.scenario}: {s.requests:,} requests, {s.simulated_s:,.0f} s simulated in "
                    f"{s.wall_s:.1f} s ({d.replicas} x {d.model} on {d.chips_per_replica} "
                    f"{d.hardware}{', ' + str(d.prefill_replicas) + ' prefill replicas' if d.prefill_replicas else ''})")
    for col in ("class", "done", "TTFT ms p50/p90/p99", "TPOT ms p50/p90/p99", "ITL ms p50/p90/p99",
                "E2E s p50/p99", "met target", "goodput req/s", "deadline misses"):
        t.add_column(col, justify="right" if col != "class" else "left")
    for name, c in s.classes.items():
        e2e = c.e2e_s
        t.add_row(name, f"{c.completed:,}/{c.requests:,}", _ms(c.ttft_s), _ms(c.tpot_s), _ms(c.itl_s),
                  "-" if e2e.p50 is None else f"{e2e.p50:,.1f} / {e2e.p99:,.1f}",
                  f"{c.met_target_frac:.1%}", f"{c.goodput_rps:,.2f}",
                  "-" if c.deadline_misses is None else str(c.deadline_misses))
    f = s.fleet
    t.caption = (f"fleet: {f.output_tokens_per_s:,.0f} output tok/s, utilisation {f.utilisation_mean:.0%}, "
                 f"slots occupied {f.slot_occupancy_mean:.0%}, "
                 f"{f.preemptions:,} preemptions, peak KV {f.peak_kv_frac:.0%}, "
                 f"{f.energy_j_per_output_token or 0:.2f} J/token, ${s.cost.usd_per_mtok_output or 0:,.3f}/Mtok output "
                 f"(own hardware, default assumptions); offered load {s.offered_load_frac:.2f}x "
                 f"analytical capacity")
    if s.overload:
        t.caption += f"\n[red]{s.overload}[/red]"
    return t
