"""Fit the few efficiency factors to measured runs: least squares on log(predicted / measured).

Only shared, physically meaningful factors are fitted (fractions of peak FLOP/s and bandwidth,
per-layer and per-step overheads, the request overhead and the prefill-queue share); nothing per
model or per row. One set is fitted on the NVIDIA (CUDA) runs (the default) and one per engine
with enough runs, starting from the default; runs on other vendors' chips (ROCm builds of the same
engines: other kernels) fit one set per hardware generation. Runs whose pool sizes had to be assumed
(disaggregated rows without worker counts) or whose speculative decoding settings are not given
are predicted but not fitted on.
"""

from dataclasses import replace

import numpy as np
from scipy.optimize import least_squares

from .. import hardware
from ..efficiency import DEFAULT, Efficiency
from ..errors import InputError
from .measured import Run
from ..profiles import Profiles, generation
from .validate import predict_runs

# factor: (lower, upper) bounds. The device factors stay below what the kernels can reach, so a fit
# cannot trade one rate against another past the chip: GEMMs <= 0.80 of dense peak (best-shape MAMF on
# H100 bf16, stas00/ml-engineering mamf-finder, 2024), attention <= 0.80 (FlashAttention-3 forward,
# 740 of 989 TFLOP/s fp16 on H100, Shah et al. 2024: 0.75), memory <= 0.95 of peak (a device-to-device
# copy; `servecost measure` measures it), the prefill attention >= 0.30 of peak (FlashAttention-2-class).
FITTED = {
    "gemm_flops_frac": (0.3, 0.8),
    "attn_flops_frac": (0.3, 0.8),
    "decode_attn_flops_frac": (0.1, 0.8),
    "kv_stream_bytes_per_s": (5e9, 1e13),
    "decode_attn_item_s": (1e-11, 1e-6),
    "ep_dispatch_s": (1e-7, 2e-4),
    "mem_bw_frac": (0.3, 0.95),
    "expert_mem_bw_frac": (0.3, 1.0),
    "layer_overhead_s": (1e-7, 3e-4),
    "step_overhead_s": (1e-6, 3e-2),
    "seq_overhead_s": (1e-8, 2e-4),
    "ttft_overhead_s": (1e-4, 2.0),
    "prefill_queue_frac": (1e-3, 1.0),
    "admission_steps": (1e-2, 100.0),
}
# The default set is the device's: its memory share stays where the measured matmul kernels stream
# (0.90-0.91 of peak, tests/data/kernel_timings.csv via benchmarks/kernels.py). An engine's own set may
# fall below it where its runs lose time outside the kernels (vLLM's runs fit 0.70).
DEFAULT_BOUNDS = {"mem_bw_frac": (0.88, 0.95)}
TTFT_FACTORS = ("ttft_overhead_s", "prefill_queue_frac", "admission_steps")
TTFT_ONLY = ("admission_steps",)   # fitted in the TTFT stage alone
# Fitted once on every engine's runs and held in each engine's set: the expert-weight stream is a
# property of the MoE kernels the engines share, and an engine's runs hold one or two MoE models, too
# few to tell its factor from the models' own (an engine-level fit of it over-fits: leave-one-model-out).
# The GEMM share is the device's too: the engines call the same cuBLAS / CUTLASS GEMMs, and fitted per
# engine it traded against the engine's other factors (0.61 vLLM, 0.64 TensorRT-LLM, 0.80 SGLang,
# where the measured matmul kernels reach 0.77; per layer step the TensorRT-LLM set was 7.5% off the
# kernels, 3.3% with it held).
ALL_ENGINE_FACTORS = ("expert_mem_bw_frac", "gemm_flops_frac")
ADMISSION_START_STEPS = 1.0   # the TTFT stage starts the admission wait from one step
# The KV-stream cap starts from about two SMs' share of H100 HBM3 (3.35 TB/s / 132 SMs = 25 GB/s each; estimate).
KV_STREAM_START_BYTES_PER_S = 50e9
# The decode-attention work item starts from the measured kernels' 12-26 ns (tests/data/decode_attention_timings.csv).
ATTN_ITEM_START_S = 15e-9
# The dispatch + combine pair starts from DeepEP's NVLink EP8 pair less its bytes and link latency
# (96 - 81 us, efficiency.py).
EP_DISPATCH_START_S = 15e-6
# Fixed costs that are 0 until fitted (below their fitted range): where their fit starts.
UNSET_STARTS = {"decode_attn_item_s": ATTN_ITEM_START_S, "ep_dispatch_s": EP_DISPATCH_START_S}
MIN_GROUP_RUNS = 40   # fewer runs than this: the group keeps the default
MIN_GENERATION_RUNS = 8   # runs on another vendor's generation that make a set of its own
ENGINE_VENDOR = "NVIDIA"  # the engine sets are fitted on runs on this vendor's chips (CUDA builds)
# A generation set (another vendor's chips) moves the factors of its decode kernels, fitted to TPOT
# only: the published runs on those chips come from benchmarks of other protocols (bursts, ShareGPT
# lengths), whose TTFT says more about the client than about the chip. With the GEMM share fitted as
# well, the MI300X set predicted held-out DeepSeek-R1 TPOT worse (13% vs 6% median APE).
KERNEL_FACTORS = ("mem_bw_frac", "layer_overhead_s", "step_overhead_s")
# The fixed cost of a kernel (its launch inside a CUDA graph, fill and drain) is the GPU
# generation's, not the engine's: one ratio per NVIDIA generation scales every engine's t_layer on
# that generation's chips, fitted to their TPOT with the engine sets held. Measured decode-attention
# calls (tests/data/decode_attention_timings.csv: cache write + attention) cost 9.2-10.6 us on an
# H200 and 6.8-7.1 us on a B200 at the smallest sizes, 0.73 of Hopper's.
# The engine sets are the reference generation's (most runs); the ratio of the reference is 1 (a
# ratio for it as well, fitted with the engine sets held, raised leave-one-system-out TPOT from 14%
# to 16%: H100's runs then follow H200's).
GENERATION_FACTORS = ("layer_overhead_s",)
REFERENCE_GENERATION = "hopper"
GENERATION_SCALE_BOUNDS = (0.3, 3.0)
PRIOR_WEIGHT = 0.1    # per unit log-factor, relative to one run's log error (scaled by sqrt(runs))
DEFAULT_PRIOR_WEIGHT = 0.01   # the all-runs fit moves freely from the cited starting values


def _with(x_log: np.ndarray, base: Efficiency, names: tuple[str, ...]) -> Efficiency:
    return replace(base, **{k: float(np.exp(v)) for k, v in zip(names, x_log)})


def fittable(runs: list[Run]) -> list[Run]:
    """Runs with a finite positive TPOT (and TTFT, where measured), mapped to the catalogue, whose pools
    are known."""
    return [r for r in runs if not r.assumed and not r.skip_reason and r.model and r.hardware
            and r.measured_tpot_s > 0 and not r.measured_ttft_s <= 0]


def log_residuals(runs: list[Run], eff: Efficiency | Profiles,
                  metrics: tuple[str, ...] = ("tpot", "ttft")) -> np.ndarray:
    """log(predicted / measured) of TPOT then TTFT (of `metrics`) for every predictable run (0 where not
    predictable or not measured, so the vector keeps its length while the factors move). `eff`: one
    set for every run, or Profiles that pick each run's set."""
    preds = predict_runs(runs, eff if isinstance(eff, Profiles) else Profiles(default=eff))
    column = {"ttft": (0, "measured_ttft_s"), "tpot": (1, "measured_tpot_s")}
    out = np.array([np.log(p[column[m][0]] / getattr(r, column[m][1])) if not isinstance(p, str) else 0.0
                    for m in ("tpot", "ttft") if m in metrics for r, p in zip(runs, preds)])
    return np.where(np.isfinite(out), out, 0.0)


def fit(runs: list[Run], base: Efficiency = DEFAULT, prior_weight: float = PRIOR_WEIGHT,
        names: tuple[str, ...] | None = None, metrics: tuple[str, ...] = ("tpot", "ttft"),
        limits: dict | None = None) -> Efficiency:
    """Efficiency minimising squared log errors of `metrics` over `runs` (soft-L1 against outliers),
    plus a prior that pulls each factor's log towards `base` (a maximum a-posteriori fit): a factor
    moves only as far as many runs ask it to. `limits`: bounds that replace FITTED's for some factors."""
    runs = fittable(runs)
    names = tuple(FITTED) if names is None else names
    if not runs:
        return base
    bounds = np.log([(limits or {}).get(k, FITTED[k]) for k in names]).T
    x0 = np.clip(np.log(np.maximum([getattr(base, k) for k in names], 1e-300)), bounds[0] + 1e-6, bounds[1] - 1e-6)
    weight = prior_weight * np.sqrt(len(runs))

    def residuals(x):
        return np.concatenate([log_residuals(runs, _with(x, base, names), metrics), weight * (x - x0)])

    result = least_squares(residuals, x0, bounds=(bounds[0], bounds[1]), loss="soft_l1", f_scale=0.25,
                           diff_step=0.02, max_nfev=200)
    return _with(result.x, base, names)


def fit_staged(runs: list[Run], base: Efficiency = DEFAULT, prior_weight: float = PRIOR_WEIGHT,
               held: tuple[str, ...] = (), limits: dict | None = None) -> Efficiency:
    """All factors (but `held`) on TPOT and TTFT, then the serving layer's TTFT terms alone on TTFT with
    the device and host factors held: the request overhead, the prefill-queue share and the admission wait."""
    if base.kv_stream_bytes_per_s >= FITTED["kv_stream_bytes_per_s"][1]:   # uncapped: start from one stream's share
        base = replace(base, kv_stream_bytes_per_s=KV_STREAM_START_BYTES_PER_S)
    unset = {k: v for k, v in UNSET_STARTS.items() if getattr(base, k) < FITTED[k][0]}   # 0: from the cited start
    base = replace(base, **unset)
    first = fit(runs, replace(base, admission_steps=0.0), prior_weight,
                names=tuple(k for k in FITTED if k not in TTFT_ONLY and k not in held), limits=limits)
    start = replace(first, admission_steps=max(first.admission_steps, ADMISSION_START_STEPS))
    return fit(runs, start, prior_weight, names=TTFT_FACTORS, metrics=("ttft",))


def fit_profiles(runs: list[Run], base: Efficiency = DEFAULT, meta: dict | None = None) -> Profiles:
    """A default fitted on the NVIDIA runs (all runs when there are none; weakly pulled towards the
    cited defaults), then one set per serving engine with >= MIN_GROUP_RUNS of them, pulled towards
    that default; then per NVIDIA generation the ratio of its per-kernel fixed cost
    (generation_sets); then, from the default, the kernel factors of each other vendor's hardware
    generation with >= MIN_GENERATION_RUNS runs, fitted to their TPOT.

    Whole sets per engine *and* hardware generation were tried on the NVIDIA runs and over-fit:
    leave-one-model-out error rose (benchmarks/accuracy.py, README), so Hopper and Blackwell share
    their engine's factors but for the kernel cost; the generation enters through that ratio and each
    chip's own peak FLOP/s, bandwidth and links. Another vendor's chips run other kernels: NVIDIA-fitted factors predict DeepSeek-R1 on
    MI300X twice as fast as measured (benchmarks/accuracy.py, AMD section)."""
    usable = fittable(runs)
    if not usable:
        raise InputError(f"calibrate: none of the {len(runs)} runs can be fitted on (each needs a catalogue model "
                         "and chip, a measured TPOT, and known pools and speculative settings); "
                         "no profile written: `servecost validate FILE` lists why each run is skipped")
    runs = usable
    on_vendor = [r for r in runs if hardware.get(r.hardware).vendor == ENGINE_VENDOR]
    others = [r for r in runs if hardware.get(r.hardware).vendor != ENGINE_VENDOR] if on_vendor else []
    on_vendor = on_vendor or runs
    default = fit_staged(on_vendor, base, prior_weight=DEFAULT_PRIOR_WEIGHT, limits=DEFAULT_BOUNDS)
    by_engine: dict[str, list[Run]] = {}
    for run in on_vendor:
        by_engine.setdefault(run.engine, []).append(run)
    groups = {engine: fit_staged(members, default, held=ALL_ENGINE_FACTORS) for engine, members in sorted(by_engine.items())
              if len(members) >= MIN_GROUP_RUNS}
    by_generation: dict[str, list[Run]] = {}
    for run in others:
        by_generation.setdefault(generation(run.hardware), []).append(run)
    groups |= generation_sets(on_vendor, default, groups)
    groups |= {gen: fit(members, default, names=KERNEL_FACTORS, metrics=("tpot",))
               for gen, members in sorted(by_generation.items()) if len(members) >= MIN_GENERATION_RUNS}
    return Profiles(default=default, groups=groups, meta=meta or {})


def scaled(eff: Efficiency, ratio: float) -> Efficiency:
    """`eff` with its per-kernel fixed costs (GENERATION_FACTORS) times `ratio`."""
    return replace(eff, **{k: getattr(eff, k) * ratio for k in GENERATION_FACTORS})


def generation_sets(runs: list[Run], default: Efficiency, engines: dict[str, Efficiency]) -> dict[str, Efficiency]:
    """Per NVIDIA generation but the reference with >= MIN_GROUP_RUNS runs, one ratio r_gen of the
    per-kernel fixed cost, fitted to that generation's TPOT with every engine's set held (each run
    predicted by its engine's set, or the default, times r_gen); returned as the sets
    '<engine>/<gen>' and '<gen>' (the default's, for a plan that names no engine)."""
    by_generation: dict[str, list[Run]] = {}
    for run in fittable(runs):
        if generation(run.hardware) != REFERENCE_GENERATION:
            by_generation.setdefault(generation(run.hardware), []).append(run)
    out = {}
    for gen, members in sorted(by_generation.items()):
        if len(members) < MIN_GROUP_RUNS:
            continue
        weight = PRIOR_WEIGHT * np.sqrt(len(members))

        def residuals(x, members=members, gen=gen):
            ratio = float(np.exp(x[0]))
            trial = Profiles(default=scaled(default, ratio),
                             groups={f"{e}/{gen}": scaled(eff, ratio) for e, eff in engines.items()})
            return np.concatenate([log_residuals(members, trial, ("tpot",)), weight * x])

        result = least_squares(residuals, [0.0], bounds=np.log(GENERATION_SCALE_BOUNDS), loss="soft_l1",
                               f_scale=0.25, diff_step=0.02, max_nfev=50)
        ratio = float(np.exp(result.x[0]))
        out[gen] = scaled(default, ratio)
        out |= {f"{e}/{gen}": scaled(eff, ratio) for e, eff in engines.items()}
    return out
