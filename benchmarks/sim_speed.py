"""Simulator speed: 1,000,000 requests (input ~1k, output ~500 tokens, lognormal) through a 64-replica
fleet (Llama-3.3-70B fp8, TP4 on H100 SXM, vLLM factors) at 70% of its analytical capacity.
Goal: <= 60 s wall on a 2-core laptop-class machine. Prints simulated requests/s and scheduler steps/s
(decode steps of every replica), so other simulators can be timed on the same workload.
Run: python benchmarks/sim_speed.py [--requests N] [--replicas R] [--load F]"""

import argparse
import time

from servecost.sim import scenario
from servecost.sim.run import run

SCENARIO = {
    "name": "sim-speed", "model": "llama-3.3-70b", "hardware": "h100-sxm", "engine": "vllm",
    "weight_dtype": "fp8", "kv_dtype": "fp8", "deployment": {"tp": 4},
    "fleet": {"replicas": 64, "max_seqs": 256, "router": "least_tokens"},
    "slo": {"ttft_s": 2.0, "tpot_s": 0.05}, "seed": 0,
    "workload": {"streams": [{"class": "interactive", "arrival": "poisson", "rate_per_s": 100.0,
                              "input_tokens": 1000, "input_spread": 0.6, "output_tokens": 500,
                              "output_spread": 0.6, "count": 1_000_000}]},
}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--replicas", type=int, default=64)
    ap.add_argument("--load", type=float, default=0.7, help="offered load / analytical capacity")
    args = ap.parse_args()
    data = scenario.apply(SCENARIO, {"fleet.replicas": args.replicas, "workload.streams.0.count": args.requests})
    probe = scenario.build(scenario.parse(scenario.apply(data, {"workload.streams.0.count": 20_000})))
    rate = 100.0 / probe.offered_load_frac * args.load
    spec = scenario.parse(scenario.apply(data, {"workload.streams.0.rate_per_s": rate}))
    t0 = time.perf_counter()
    built = scenario.build(spec)
    t_build = time.perf_counter() - t0
    result = run(spec, built=built)
    s = result.summary
    wall = t_build + s.wall_s
    c = s.classes["interactive"]
    print(f"{s.requests:,} requests at {rate:,.0f}/s ({s.offered_load_frac:.2f}x capacity) through "
          f"{args.replicas} replicas: {s.simulated_s:,.0f} s simulated")
    print(f"build (workload + step table) {t_build:.2f} s; event loop {s.wall_s:.1f} s; "
          f"{s.events:,} events, {s.steps:,} replica steps")
    print(f"simulated requests/s (wall): {s.simulated_requests_per_wall_s:,.0f}; "
          f"scheduler steps/s (wall): {s.steps_per_wall_s:,.0f}")
    print(f"TTFT p50/p99 {c.ttft_s.p50 * 1e3:,.0f}/{c.ttft_s.p99 * 1e3:,.0f} ms, "
          f"TPOT p50/p99 {c.tpot_s.p50 * 1e3:.1f}/{c.tpot_s.p99 * 1e3:.1f} ms, "
          f"utilisation {s.fleet.utilisation_mean:.0%}")
    print(f"total {wall:.1f} s; goal <= 60 s: {'met' if wall <= 60 else 'NOT met'}")
