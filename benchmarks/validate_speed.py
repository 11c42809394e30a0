"""Wall time of `servecost validate` on the whole calibration file (2,018 runs). Goal: < 10 s.

Run: python benchmarks/validate_speed.py
"""

import statistics
import subprocess
import sys
import time
from importlib import resources

CALIBRATION = str(resources.files("servecost").joinpath("data/calibration/aic_silicon_calibration.csv"))


def main() -> int:
    from servecost.calibration.readers import read_runs
    from servecost.calibration.validate import validate

    t0 = time.perf_counter()
    runs = read_runs(CALIBRATION)
    t_read = time.perf_counter() - t0
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = validate(runs)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "servecost", "validate", CALIBRATION, "--format", "json"], check=True,
                   stdout=subprocess.DEVNULL)
    t_cli = time.perf_counter() - t0
    print(f"{result['rows']} runs, {result['predicted']} predicted")
    print(f"read: {t_read:.2f} s; validate in process: median {statistics.median(times):.2f} s; "
          f"whole `servecost validate` command: {t_cli:.2f} s")
    ok = t_cli < 10.0
    print(f"goal < 10 s: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
