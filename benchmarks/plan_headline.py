"""Wall time of `servecost plan` on the headline case (Kimi K2, 1M users, 50 tok/s, whole catalogue).

Measures (1) the in-process plan after import and (2) the whole CLI process, cold, as a user runs it.
Goal: < 2 s on the 2-core reference machine.  Run: python benchmarks/plan_headline.py
"""

import statistics
import subprocess
import sys
import time


def in_process(repeats: int = 5) -> list[float]:
    from servecost.plan import Scenario, plan
    plan(Scenario())   # warm caches (catalogue parsing)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = plan(Scenario())
        times.append(time.perf_counter() - t0)
    assert len(result.options) + len(result.infeasible) >= 19
    return times


def cli(repeats: int = 3) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "servecost", "plan", "--format", "json"], check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return times


if __name__ == "__main__":
    warm, cold = in_process(), cli()
    print(f"plan, in process (after import): median {statistics.median(warm):.3f} s  (runs: "
          + ", ".join(f"{t:.3f}" for t in warm) + ")")
    print(f"servecost plan, whole CLI process: median {statistics.median(cold):.3f} s  (runs: "
          + ", ".join(f"{t:.3f}" for t in cold) + ")")
    goal = 2.0
    ok = statistics.median(cold) < goal
    print(f"goal < {goal:.1f} s for the whole command: {'met' if ok else 'NOT met'}")
    sys.exit(0 if ok else 1)
