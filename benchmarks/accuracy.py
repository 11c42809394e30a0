"""Cross-validated accuracy on the shipped calibration runs: leave-one-model-out and
leave-one-system-out, per metric; writes the README table and the error bands the tool prints.

Run: python benchmarks/accuracy.py [--write]   (--write updates src/servecost/data/error_bands.yaml)
"""

import sys
import time
from importlib import resources

import yaml

from servecost.crossval import held_out_errors, summary
from servecost.readers import read_aic_csv

CALIBRATION = resources.files("servecost").joinpath("data/calibration/aic_silicon_calibration.csv")


def main(write: bool) -> None:
    runs = read_aic_csv(str(CALIBRATION))
    measured = [r for r in runs if not r.pools_assumed]
    results = {}
    for by in ("model", "system"):
        t0 = time.perf_counter()
        df = held_out_errors(measured, by)
        results[by] = summary(df)
        per = df.groupby("held_out")[["ttft_ape", "tpot_ape"]].median()
        print(f"\nleave-one-{by}-out ({time.perf_counter() - t0:.0f} s), median APE per held-out {by}:")
        print(per.round(3).to_string())
    print("\n| hold out | metric | runs | median APE | MAPE | p90 APE |\n|---|---|---|---|---|---|")
    for by, res in results.items():
        for metric, s in res.items():
            print(f"| one {by} | {metric.upper()} | {s['n']} | {s['median_ape']:.0%} | {s['mape']:.0%} | {s['p90_ape']:.0%} |")
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
