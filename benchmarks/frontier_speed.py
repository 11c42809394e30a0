"""Wall time of the frontier of one model across the whole catalogue, beside aiconfigurator's
`cli default` for the same model on ONE system. Goal: <= 1 s in process after import, and >= 20x
faster for all accelerators together than aiconfigurator is for one.

aiconfigurator runs in its own virtualenv, offline, on a local config.json (recipe:
benchmarks/aiconfigurator_recipe.md). `--setup` creates that virtualenv (needs PyPI); without it the
comparison is skipped when the virtualenv is missing.

Run: python benchmarks/frontier_speed.py [--setup] [--model qwen3-32b] [--aic-venv /tmp/aic-venv]
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

AIC_VERSION = "0.12.0"


def time_servecost(model: str, repeats: int = 5) -> tuple[float, int]:
    from servecost.frontier import frontier
    from servecost.plan import Scenario

    sc = Scenario(model=model, input_tokens=4000, output_tokens=1000, precisions="all")
    frontier(sc)   # warm the catalogue caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        curves = frontier(sc, speed=30)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(curves)


def setup_aiconfigurator(venv: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"aiconfigurator=={AIC_VERSION}"], check=True)


def time_aiconfigurator(venv: Path, model: str, repeats: int = 2) -> float | None:
    exe = venv / "bin" / "aiconfigurator"
    if not exe.exists():
        return None
    config = resources.files("servecost").joinpath(f"data/configs/{model}.json")
    work = Path(tempfile.mkdtemp())
    (work / model).mkdir()
    shutil.copy(str(config), work / model / "config.json")
    cmd = [str(exe), "cli", "default", "--model-path", str(work / model), "--system", "h200_sxm",
           "--total-gpus", "8", "--backend", "trtllm", "--isl", "4000", "--osl", "1000", "--ttft", "2000",
           "--tpot", "30"]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen3-32b")
    ap.add_argument("--aic-venv", default="/tmp/aic-venv", type=Path)
    ap.add_argument("--setup", action="store_true")
    args = ap.parse_args()
    ours, n = time_servecost(args.model)
    print(f"servecost frontier, {args.model}, {n} accelerators, every deployment (fp8/fp4/int4, fp8 KV, MTP, "
          f"disaggregation): median {ours:.3f} s in process")
    ok = ours <= 1.0
    print(f"goal <= 1 s: {'met' if ok else 'NOT met'}")
    if args.setup and not (args.aic_venv / "bin" / "aiconfigurator").exists():
        setup_aiconfigurator(args.aic_venv)
    theirs = time_aiconfigurator(args.aic_venv, args.model)
    if theirs is None:
        print(f"aiconfigurator not found in {args.aic_venv}: run with --setup to compare")
        return 0 if ok else 1
    print(f"aiconfigurator {AIC_VERSION} cli default, {args.model}, ONE system (h200_sxm, 8 GPUs): "
          f"median {theirs:.2f} s (whole process)")
    print(f"ratio: servecost covers {n} accelerators {theirs / ours:.0f}x faster than aiconfigurator covers one "
          f"(goal >= 20x): {'met' if theirs / ours >= 20 else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
