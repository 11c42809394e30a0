"""Wall time of a 100,000-sample Monte Carlo of $/Mtok over the headline plan (every accelerator).
Goal: < 5 s. Run: python benchmarks/montecarlo_speed.py"""

import time

from servecost.economics import Assumptions
from servecost.studies.montecarlo import Ranges, summary, usd_per_mtok_samples
from servecost.plan import Scenario, plan

if __name__ == "__main__":
    t0 = time.perf_counter()
    result = plan(Scenario(), Assumptions())
    t_plan = time.perf_counter() - t0
    t0 = time.perf_counter()
    mc = {o.hardware: summary(usd_per_mtok_samples(o.cost_breakdown_usd_per_hour, 0.08,
                                                   o.demanded_tokens_per_s, Ranges(), 100_000))
          for o in result.options}
    t_mc = time.perf_counter() - t0
    for o in result.options[:5]:
        s = mc[o.hardware]
        print(f"{o.hardware:12s} ${o.usd_per_mtok_output:.3f}/Mtok point; Monte Carlo median "
              f"${s['median']:.3f}, 90% ${s['p05']:.3f}-{s['p95']:.3f}")
    print(f"plan {t_plan:.2f} s; 100,000-sample Monte Carlo for {len(result.options)} accelerators: {t_mc:.2f} s "
          f"({t_mc / len(result.options) * 1e3:.0f} ms each); goal < 5 s: {'met' if t_mc < 5 else 'NOT met'}")
