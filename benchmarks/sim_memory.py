"""Simulator memory per request: the traced peak (tracemalloc) of building and running the workload of
benchmarks/sim_speed.py (Llama-3.3-70B fp8, TP4 on H100 SXM, 64 replicas, 70% load) at two sizes; the
slope between them is the bytes each extra request costs (the step table and the fleet are the same
at both sizes, so they cancel). Also the bytes still held by the result (requests, trace, summary).
Run: python benchmarks/sim_memory.py [--small N] [--large N]"""

import argparse
import gc
import tracemalloc

from servecost.sim import scenario
from servecost.sim.run import run

from sim_speed import SCENARIO


def traced(n: int, rate: float) -> tuple[int, int]:
    """(peak, held after the run) bytes traced while building and running n requests."""
    spec = scenario.parse(scenario.apply(SCENARIO, {"workload.streams.0.count": n,
                                                    "workload.streams.0.rate_per_s": rate}))
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    result = run(spec)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak - base, held - base


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=20_000)
    ap.add_argument("--large", type=int, default=100_000)
    args = ap.parse_args()
    probe = scenario.build(scenario.parse(scenario.apply(SCENARIO, {"workload.streams.0.count": 20_000})))
    rate = 100.0 / probe.offered_load_frac * 0.7
    (p1, h1), (p2, h2) = traced(args.small, rate), traced(args.large, rate)
    dn = args.large - args.small
    print(f"{args.small:,} requests: peak {p1 / 1e6:,.1f} MB, held {h1 / 1e6:,.1f} MB; "
          f"{args.large:,}: peak {p2 / 1e6:,.1f} MB, held {h2 / 1e6:,.1f} MB")
    print(f"per request: peak {(p2 - p1) / dn:,.0f} bytes, held by the result {(h2 - h1) / dn:,.0f} bytes")
