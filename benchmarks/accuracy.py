"""Cross-validated accuracy on the shipped calibration runs: leave-one-model-out and
leave-one-system-out, per metric; writes the README table and the error bands the tool prints.

A further section predicts the measured runs of an InferenceX API snapshot (DeepSeek-R1,
tests/data/inferencex_runs.csv; runs without speculative decoding whose pools are consistent are
predicted, the rest reported as skipped), per serving mode and chip: B300, GB200, GB300 and the AMD
chips are not in the calibration data.
A last section checks the AMD factors out of sample: the CDNA3 set, fitted on published Llama runs on
MI300X (vLLM), predicting published DeepSeek-R1 runs on MI300X, MI325X and MI355X (SGLang,
tests/data/amd_deepseek_r1_runs.csv), beside what the NVIDIA-fitted SGLang factors predict.

A family section predicts the published measurements of every other hardware family (Cerebras, Groq,
SambaNova, TPU, Trainium, Gaudi, AMD; tests/data/family_runs.csv), leave one model out.

Run: python benchmarks/accuracy.py [--write] [--families]   (--write updates src/servecost/data/error_bands.yaml
and the family sets and bands; --families runs the family section alone)
"""

import sys
import time
from collections import Counter

import numpy as np
from importlib import resources

from pathlib import Path

import yaml

from servecost import bands
from servecost.calibration.crossval import held_out_errors, summary
from servecost.profiles import Profiles, shipped
from servecost.calibration.readers import read_aic_csv, read_runs
from servecost.calibration.validate import errors_frame, predict_runs

CALIBRATION = resources.files("servecost").joinpath("data/calibration/aic_silicon_calibration.csv")
AMD_HELD_OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "amd_deepseek_r1_runs.csv"
INFERENCEX = Path(__file__).resolve().parents[1] / "tests" / "data" / "inferencex_runs.csv"


def inferencex_snapshot() -> None:
    runs = read_runs(INFERENCEX)
    preds = predict_runs(runs)
    everything = errors_frame(runs, preds)
    df, mtp = everything[~everything.assumed], everything[everything.assumed]
    reasons = Counter(p.split(":")[0].split(" (")[0] for p in preds if isinstance(p, str))
    print(f"\nInferenceX API snapshot: {len(runs)} DeepSeek-R1 runs, {len(everything)} predicted; skipped: "
          f"{dict(reasons)}; {len(mtp)} with MTP (settings not given: predicted as plan assumes, apart): "
          f"TPOT {mtp.tpot_ape.median():.0%}, TTFT {mtp.ttft_ape.median():.0%} median APE")
    print("| serving | chip | engine | runs | TPOT median APE | TTFT median APE |\n|---|---|---|---|---|---|")
    for (mode, chip, engine), part in df.groupby(["mode", "hardware", "engine"]):
        print(f"| {mode} | {chip} | {engine} | {len(part)} | {part.tpot_ape.median():.0%} | "
              f"{part.ttft_ape.median():.0%} |")
    for mode, part in df.groupby("mode"):
        print(f"| {mode}, all | | | {len(part)} | {part.tpot_ape.median():.0%} | {part.ttft_ape.median():.0%} |")
    for metric in ("tpot", "ttft"):   # do the printed 90% bands hold on runs the calibration never saw?
        band = [bands.time_band(p, metric) for p in df[f"predicted_{metric}_s"]]
        inside = np.mean([lo <= m <= hi for (lo, hi), m in zip(band, df[f"measured_{metric}_s"])])
        print(f"{metric.upper()}: the measured value lies inside the printed 90% band for {inside:.0%} of the runs")
    snapshot_floors(runs, df)


def _deployment(run) -> tuple:
    """What a concurrency sweep holds fixed: the serving mode, chip, engine, formats, lengths, layout, pools."""
    pools = tuple(sorted((name, tuple(sorted((k, v) for k, v in (pool or {}).items())))
                         for name, pool in (run.pools or {}).items()))
    return (run.mode, run.hardware, run.engine, run.weight_dtype, run.expert_dtype, run.kv_dtype,
            run.input_tokens, run.output_tokens, run.tp, run.pp, run.dp_attn, run.ep, pools)


def snapshot_floors(runs, df) -> None:
    """What limits a model's error on the snapshot, per serving mode:
    repeatability: each inner run of a deployment's concurrency sweep against the log-log line through
    its two neighbours (an estimate of the runs' own scatter, which a smooth model keeps);
    levels: servecost's predictions with each deployment's own median ratio divided out (a constant per
    deployment, fitted on that deployment's runs: what servecost's shape leaves if every deployment's
    level were known; not something a model may ship)."""
    key = {run.id: _deployment(run) for run in runs}
    df = df.assign(deployment=df["id"].map(key))
    print("\nWhat the snapshot itself allows (median APE; servecost's own in the last column):")
    print("| serving | metric | runs (in sweeps of 3+) | inner runs | repeatability (neighbours) | servecost with each deployment's "
          "level fitted | servecost |\n|---|---|---|---|---|---|---|")
    size = df.groupby("deployment")["id"].transform("size")
    for mode, part in df[size >= 3].groupby("mode"):    # sweeps of three or more concurrencies
        for metric in ("ttft", "tpot"):
            inner = []
            for _, sweep in part.groupby("deployment"):
                sweep = sweep.sort_values("concurrency").drop_duplicates("concurrency")
                if len(sweep) < 3:
                    continue
                c, y = np.log(sweep["concurrency"].to_numpy()), np.log(sweep[f"measured_{metric}_s"].to_numpy())
                w = (c[1:-1] - c[:-2]) / (c[2:] - c[:-2])
                inner += list(np.abs(np.exp(y[1:-1] - (y[:-2] + w * (y[2:] - y[:-2]))) - 1))
            log_ratio = np.log(part[f"predicted_{metric}_s"] / part[f"measured_{metric}_s"])
            levelled = np.abs(np.exp(log_ratio - log_ratio.groupby(part["deployment"]).transform("median")) - 1)
            print(f"| {mode} | {metric.upper()} | {len(part)} | {len(inner)} | {np.median(inner):.0%} | {levelled.median():.0%} | "
                  f"{part[f'{metric}_ape'].median():.0%} |")
    stalled = df[df["measured_ttft_s"] > 5 * df["predicted_ttft_s"]]
    print(f"{len(stalled)} of {len(df)} runs measure a TTFT over 5x servecost's ({stalled['measured_ttft_s'].min():.1f}-"
          f"{stalled['measured_ttft_s'].max():.0f} s), {stalled['deployment'].nunique()} deployments")


def amd_held_out() -> None:
    runs = read_runs(AMD_HELD_OUT)
    print("\nAMD, held out (DeepSeek-R1, SGLang; the CDNA3 set is fitted on Llama / vLLM runs on MI300X):")
    print("| chip | runs | TPOT median APE, shipped (CDNA3 set on MI300X/MI325X) | with NVIDIA SGLang factors |"
          " TTFT median APE, shipped |\n|---|---|---|---|---|")
    nvidia = Profiles(default=shipped().groups["sglang"])
    for chip in ("mi300x", "mi325x", "mi355x"):
        part = [r for r in runs if r.hardware == chip]
        ours, theirs = (errors_frame(part, predict_runs(part, p)) for p in (shipped(), nvidia))
        print(f"| {chip} | {len(part)} | {ours.tpot_ape.median():.0%} (x{(1 + ours.tpot_error).median():.2f}) | "
              f"{theirs.tpot_ape.median():.0%} (x{(1 + theirs.tpot_error).median():.2f}) | {ours.ttft_ape.median():.0%} |")


FAMILY_RUNS = Path(__file__).resolve().parents[1] / "tests" / "data" / "family_runs.csv"


def family_evidence(write: bool) -> None:
    """Published measurements per hardware family (tests/data/family_runs.csv), each family's rows
    predicted by factors fitted without the row's model; --write ships the fitted sets and the
    per-family bands (src/servecost/data/family_profiles.yaml, family_evidence.yaml)."""
    from servecost.calibration import evidence

    rows = evidence.read(FAMILY_RUNS)
    checks = {fam: evidence.check_family(rs) for fam, rs in sorted(evidence.by_family(rows).items())}
    print(f"\nPublished measurements per family ({len(rows)} rows; predicted/measured as a speed, > 1: too fast; "
          "leave one model out):")
    print("| family | rows | skipped | median pred/meas | median error | inside its 90% band | TTFT rows (median) |")
    print("|---|---|---|---|---|---|---|")
    everything, inside = [], []
    for fam, c in checks.items():
        s = c.summary()
        q = np.array([q for r, _, q in c.rows if r.metric != "ttft_s" and np.isfinite(q)])
        cal = bands.quantiles()["tpot"]     # the printed band: the family's and the calibration band's span
        lo = np.exp(min(s["log_ratio_p05"], -cal["log_ratio_p95"]))
        hi = np.exp(max(s["log_ratio_p95"], -cal["log_ratio_p05"]))
        inside += list((q >= lo) & (q <= hi))
        everything += list(q)
        ttft = f"{s['ttft_rows']} (x{s['ttft_median_ratio']:.2f})" if s["ttft_rows"] else "-"
        print(f"| {fam} | {s['rows']} | {s['skipped']} | x{s['median_ratio']:.2f} | {s['median_ape']:.0%} | "
              f"{np.mean((q >= lo) & (q <= hi)):.0%} | {ttft} |")
    everything = np.array(everything)
    print(f"| all | {everything.size} | | x{np.median(everything):.2f} | {np.median(np.abs(everything - 1)):.0%} | "
          f"{np.mean(inside):.0%} | |")
    for fam, c in checks.items():
        for r, why in c.skipped:
            print(f"  skipped {fam} {r.hardware} {r.model} {r.metric}: {why}")
    if write:
        fitted = {fam: c.fitted.as_dict() for fam, c in checks.items() if c.execution != "kernels"}
        profiles_path = resources.files("servecost").joinpath("data/family_profiles.yaml")
        profiles_path.write_text(yaml.safe_dump({
            "source": "benchmarks/accuracy.py --write: each family's factors (servecost.calibration.evidence.FAMILY_FACTORS) "
                      "fitted to its published rows in tests/data/family_runs.csv; the rest are the family's "
                      "stated costs (data/families.yaml) and the default's kernel factors",
            "profiles": fitted}, sort_keys=False))
        evidence_path = resources.files("servecost").joinpath("data/family_evidence.yaml")
        evidence_path.write_text(yaml.safe_dump({
            "source": "benchmarks/accuracy.py --write: published rows per family (tests/data/family_runs.csv), "
                      "leave-one-model-out predicted/measured as a speed",
            "families": {fam: c.summary() for fam, c in checks.items()}}, sort_keys=False))
        print(f"wrote {profiles_path} and {evidence_path}")


def main(write: bool) -> None:
    if "--families" in sys.argv:
        return family_evidence(write)
    runs = read_aic_csv(str(CALIBRATION))
    measured = [r for r in runs if not r.assumed]
    results = {}
    for by in ("model", "system"):
        t0 = time.perf_counter()
        df = held_out_errors(measured, by)
        results[by] = summary(df)
        per = df.groupby("held_out")[["ttft_ape", "tpot_ape"]].median()
        print(f"\nleave-one-{by}-out ({time.perf_counter() - t0:.0f} s), median APE per held-out {by}:")
        print(per.round(3).to_string())
        print(f"per engine, {by} held out:")
        print(df.groupby("engine")[["ttft_ape", "tpot_ape"]].median().round(3).to_string())
    print("\n| hold out | metric | runs | median APE | MAPE | p90 APE |\n|---|---|---|---|---|---|")
    for by, res in results.items():
        for metric, s in res.items():
            print(f"| one {by} | {metric.upper()} | {s['n']} | {s['median_ape']:.0%} | {s['mape']:.0%} | {s['p90_ape']:.0%} |")
    inferencex_snapshot()
    amd_held_out()
    family_evidence(write)
    if write:
        bands = {"source": "benchmarks/accuracy.py: leave-one-model-out residuals on data/calibration",
                 "runs": results["model"]["tpot"]["n"],
                 **{metric: {"log_ratio_p05": s["log_ratio_p05"], "log_ratio_p95": s["log_ratio_p95"],
                             "median_ape": s["median_ape"]} for metric, s in results["model"].items()}}
        path = resources.files("servecost").joinpath("data/error_bands.yaml")
        path.write_text(yaml.safe_dump(bands, sort_keys=False))
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main("--write" in sys.argv)
