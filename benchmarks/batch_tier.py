"""How much batch work do the daily troughs of the headline interactive fleet absorb, and what does
it do to interactive users? Runs examples/batch-tier-sweep.yaml (batch rates from none to more than
the troughs hold), prints a markdown table and writes docs/batch_tier.png and docs/sim_timeline.png.
Spare capacity = the fleet's analytical output tokens/s at its full batch x the simulated time of
the run (arrivals stop after one compressed day; the run lasts until every request is done) - the
interactive tokens served. Run: python benchmarks/batch_tier.py [--ray ADDRESS]"""

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from servecost import hardware, models
from servecost.profiles import shipped
from servecost.roofline import Precision
from servecost.parallel import Parallel
from servecost.serving import aggregated
from servecost.sim import output, scenario
from servecost.sim.run import run
from servecost.sim.summary import DeploymentSummary
from servecost.sim.sweep import sweep

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "examples" / "batch-tier-sweep.yaml"
SCENARIO = ROOT / "examples" / "batch-tier.yaml"


def capacity_tokens_per_s(d: DeploymentSummary, mean_in: float, mean_out: float) -> float:
    m, hw = models.get(d.model), hardware.get(d.hardware)
    par = Parallel(tp=d.tp, pp=d.pp, ep=d.ep, dp_attn=d.dp_attn)
    prec = Precision(weight=d.weight_dtype, expert=d.expert_dtype, kv=d.kv_dtype)
    eff = shipped().get(None if d.engine == "all" else d.engine, hw.id)
    return float(aggregated(m, hw, par, prec, d.max_seqs, mean_in, mean_out, eff).output_tokens_per_s) * d.replicas


def chart(df: pd.DataFrame, path: Path, d: DeploymentSummary) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.6), constrained_layout=True)
    x = df["batch_rate"]
    a.bar(x, df["absorbed_frac"] * 100, width=18, color="#ef6c00", label="batch tokens served / spare capacity")
    for xi, yi, miss in zip(x, df["absorbed_frac"] * 100, df["misses"]):
        a.annotate(f"{miss:,.0f} missed" if miss else "no misses", (xi, yi), ha="center", va="bottom", fontsize=8)
    a.set_xlabel("batch requests offered per second (2k in / 500 out, deadline one day)")
    a.set_ylabel("spare capacity filled by batch (%)")
    a.set_ylim(0, 110)
    a.grid(True, axis="y", alpha=0.3)
    b.plot(x, df["ttft_p99_s"] * 1e3, "o-", color="#1565c0", label="interactive TTFT p99")
    b.set_ylabel("interactive TTFT p99 (ms)", color="#1565c0")
    b2 = b.twinx()
    b2.plot(x, df["tpot_p99_s"] * 1e3, "s--", color="#2e7d32", label="interactive TPOT p99")
    b2.set_ylabel("interactive TPOT p99 (ms)", color="#2e7d32")
    b.set_ylim(0, None)
    b2.set_ylim(0, None)
    lines = b.get_lines() + b2.get_lines()
    b.legend(lines, [ln.get_label() for ln in lines], loc="lower right", fontsize=9,
             title="targets: TTFT 2 s, TPOT 50 ms", title_fontsize=8)
    b.set_xlabel("batch requests offered per second")
    b.grid(True, alpha=0.3)
    fig.suptitle(f"Kimi K2 on GB200 NVL72 (one {d.chips_per_replica}-GPU replica: PP {d.pp}, attention-DP {d.dp_attn}, "
                 f"EP {d.ep}; compressed day): batch tier in the troughs", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--ray", default=None)
    args = ap.parse_args()
    rows = pd.DataFrame(sweep(SWEEP, ray_address=args.ray))
    spec = scenario.load(SCENARIO)
    built = scenario.build(spec, SCENARIO.parent)
    inter = built.requests.klass == 0
    day_s = spec.duration_s
    cap = capacity_tokens_per_s(built.deployment, float(built.requests.input_tokens.mean()),
                                float(built.requests.output_tokens.mean()))
    interactive_tokens = float(built.requests.output_tokens[inter].sum())
    spare = cap * rows["simulated_s"] - interactive_tokens
    df = pd.DataFrame({
        "batch_rate": rows["workload.streams.1.rate_per_s"],
        "batch_tokens": rows.get("batch_output_tokens", pd.Series(0, index=rows.index)).fillna(0),
        "misses": rows.get("batch_deadline_misses", pd.Series(0, index=rows.index)).fillna(0),
        "ttft_p99_s": rows["interactive_ttft_p99_s"], "tpot_p99_s": rows["interactive_tpot_p99_s"],
        "met_slo": rows["interactive_met_target_frac"], "j_per_token": rows["energy_j_per_output_token"],
        "usd_per_mtok": rows["usd_per_mtok_output"],
        "preempted": rows["preemptions"]})
    df["absorbed_frac"] = df["batch_tokens"] / spare
    print(f"capacity {cap:,.0f} output tok/s; day {day_s:,.0f} s (runs last {rows['simulated_s'].min():,.0f}-"
          f"{rows['simulated_s'].max():,.0f} s); interactive {interactive_tokens / 1e6:,.1f} M tokens "
          f"({interactive_tokens / (cap * day_s):.0%} of one day's capacity)\n")
    print("| batch req/s | batch tokens (M) | spare capacity filled | deadline misses | interactive TTFT p99 | "
          "interactive TPOT p99 | interactive met SLO | preemptions | J/token | $/Mtok (all tokens) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in df.itertuples():
        print(f"| {r.batch_rate:g} | {r.batch_tokens / 1e6:,.1f} | {r.absorbed_frac:.0%} | {r.misses:,.0f} | "
              f"{r.ttft_p99_s * 1e3:,.0f} ms | {r.tpot_p99_s * 1e3:.1f} ms | {r.met_slo:.1%} | {r.preempted:,} | "
              f"{r.j_per_token:.2f} | ${r.usd_per_mtok:.3f} |")
    docs = ROOT / "docs"
    chart(df, docs / "batch_tier.png", built.deployment)
    with tempfile.TemporaryDirectory() as tmp:
        output.write(run(spec, SCENARIO.parent, built=built), tmp)
        shutil.copy(Path(tmp) / "timeline.png", docs / "sim_timeline.png")
        shutil.copy(Path(tmp) / "latency_cdf.png", docs / "sim_latency_cdf.png")
    print(f"\nwrote {docs / 'batch_tier.png'}, {docs / 'sim_timeline.png'}, {docs / 'sim_latency_cdf.png'}")
