"""Published measurements per hardware family, predicted as servecost would deploy them.

Each row of a family table (tests/data/family_runs.csv: URL, date, conditions) states a model, a chip,
what was measured and, where published, the chips of one replica, the requests in flight and the
lengths. A row is predicted from the deployments servecost searches on that chip (search.py):
    output_tokens_per_s_per_user  the fastest deployment with that many chips per replica (any, if
                                  not published) at that concurrency (1 if not published): vendors
                                  and API benchmarks publish the speed one stream gets;
    output_tokens_per_s_per_chip  the highest throughput per chip at that replica size and
    / _total, tpot_s              concurrency (the layout the vendor tuned), and its TPOT;
    ttft_s                        the TTFT of the fastest deployment (as above).
Rows measured with speculative decoding by a draft model, of models outside the catalogue that no
catalogue model shares an architecture with, or of a stream faster than the chip allows at every peak
with no fixed cost (physical_bound: the row's conditions are incomplete), are skipped with the reason. Lengths not published are
taken as 1,000 in / 500 out (estimate: Artificial Analysis's standard workload is ~1,000 prompt tokens).
"""

import csv
import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import families, hardware, models
from ..errors import InputError
from ..profiles import Profiles, shipped
from ..roofline import Precision
from ..efficiency import Efficiency, ideal
from ..search import BATCHES, Variant, evaluate

DEFAULT_INPUT_TOKENS, DEFAULT_OUTPUT_TOKENS = 1000, 500
METRICS = ("output_tokens_per_s_per_user", "output_tokens_per_s_per_chip", "output_tokens_per_s_total",
           "tpot_s", "ttft_s")
# Published metrics a row may record that are not predicted (skipped with the reason): input and
# output tokens together, where the source gives no lengths to split them.
RECORDED_METRICS = ("input_output_tokens_per_s_total",)
# Published models that are not in the catalogue but have the architecture of one that is (same
# layers, widths, heads and KV heads; only the vocabulary or training differ).
TWINS = {
    "meta-llama/Llama-2-70b-chat-hf": "llama-2-70b",        # chat fine-tunes of the catalogue's base models
    "meta-llama/Llama-2-13b-chat-hf": "llama-2-13b",
    "meta-llama/Llama-2-7b-chat-hf": "llama-2-7b",
    "google/gemma-7b-it": "gemma-7b",                        # instruction-tuned Gemma: the base shapes
    "google/gemma-2b-it": "gemma-2b",
    "mistralai/Mistral-7B-v0.1": "mistral-7b",
    "meta-llama/Meta-Llama-3-70B-Instruct": "llama-3.1-70b",
    "meta-llama/Meta-Llama-3-8B-Instruct": "llama-3.1-8b",
    "meta-llama/Meta-Llama-3-8B": "llama-3.1-8b",
    "meta-llama/Meta-Llama-3-70B": "llama-3.1-70b",
    "moonshotai/Kimi-K2.6": "kimi-k2.5",
    "zai-org/GLM-4.7": "glm-4.5",
}
SPECULATIVE_WORDS = ("specdec", "speculative", "draft model", "eagle")


@dataclass(frozen=True)
class Row:
    family: str
    hardware: str
    model: str
    chips: int
    concurrency: int
    input_tokens: int
    output_tokens: int
    weight_dtype: str
    metric: str
    value: float
    date: str
    url: str
    conditions: str
    kv_dtype: str = ""         # KV cache format where the source states it ("" = bf16)
    layout: str = ""           # "system": `chips` is the measured system, its replicas' size not published
    tpot_limit_s: float = 0.0  # the benchmark's TPOT bound on the run (MLPerf Server, Interactive), 0 = none
    engine: str = ""           # the serving software where the source names it ("" = not named)
    ttft_limit_s: float = 0.0  # the benchmark's TTFT bound on the run (MLPerf Server 2 s, Interactive 0.45 s), 0 = none
    tp: int = 0                # chips each layer's attention is split over (tensor parallel) where the source states it, 0 = not stated


def read(path: str | Path) -> list[Row]:
    """The rows of a family table; a malformed row raises an InputError naming its line."""
    rows = []
    with open(path, newline="") as f:
        for line, r in enumerate(csv.DictReader(f), start=2):
            try:
                rows.append(Row(family=r["family"], hardware=r["hardware"], model=r["model"],
                                chips=int(r["chips"] or 0), concurrency=int(r["concurrency"] or 0),
                                input_tokens=int(r["input_tokens"] or 0), output_tokens=int(r["output_tokens"] or 0),
                                weight_dtype=r["weight_dtype"], metric=r["metric"], value=float(r["value"]),
                                date=r["date"], url=r["url"], conditions=r["conditions"],
                                kv_dtype=r.get("kv_dtype") or "", layout=r.get("layout") or "",
                                tpot_limit_s=float(r.get("tpot_limit_s") or 0), engine=r.get("engine") or "",
                                ttft_limit_s=float(r.get("ttft_limit_s") or 0), tp=int(r.get("tp") or 0)))
            except (KeyError, ValueError) as exc:
                raise InputError(f"{path} line {line}: {exc}; see tests/data/family_runs.md for the columns") from None
    return rows


def _deployment(row: Row) -> tuple:
    return (row.hardware, _model_id(row) or row.model, row.metric, row.chips, row.concurrency, row.input_tokens,
            row.output_tokens, row.weight_dtype, row.layout, row.tpot_limit_s, row.ttft_limit_s, row.tp)


def superseded(rows: list[Row]) -> set[int]:
    """Indices of dated rows that a later dated measurement of the same deployment replaces (a
    planner predicts today's software, not the launch-day figure)."""
    latest: dict[tuple, str] = {}
    for r in rows:
        if r.date[:4].isdigit() and skip_reason(r) is None:
            key = _deployment(r)
            latest[key] = max(latest.get(key, ""), r.date)
    return {i for i, r in enumerate(rows) if r.date[:4].isdigit() and r.date < latest.get(_deployment(r), "")}


def skip_reason(row: Row) -> str | None:
    """Why a row cannot be predicted, or None."""
    text = row.conditions.lower()
    if row.metric in ("tpot_s", "ttft_s") and not row.concurrency:
        return "latency at a concurrency not published"
    if any(w in text for w in SPECULATIVE_WORDS) and "mtp" not in text:
        return "speculative decoding with a draft model (not modelled)"
    if row.metric == "ttft_s" and "answer token" in text:
        return "time to first answer token includes reasoning tokens"
    if row.metric not in METRICS:
        return f"metric {row.metric!r} not predicted"
    if row.hardware not in hardware.known():
        return f"hardware {row.hardware!r} not in the catalogue"
    if _model_id(row) is None:
        return f"model {row.model!r}: no catalogue model of its architecture"
    if _bounded(row):
        bound = physical_bound(row)
        if ratio(row, bound) < 1:
            unit = "s" if row.metric == "tpot_s" else "tok/s"
            return (f"beyond what the chip allows at the stated precision in any replica servecost builds, at every "
                    f"peak with no fixed cost ({bound:.3g} {unit}): an unstated technique (speculative decoding, "
                    "fewer bits in weights or KV cache) or a larger system")
    return None


def _bounded(row: Row) -> bool:
    """Rows held to the physical bound: a stream's speed or latency (the weights a step streams set it,
    whatever the lengths), and a throughput whose lengths are published (an assumed prompt length
    would set the bound, not the row)."""
    if row.metric in ("output_tokens_per_s_per_user", "tpot_s"):
        return True
    return row.metric.startswith("output_tokens_per_s_") and bool(row.input_tokens and row.output_tokens)


@functools.lru_cache(maxsize=4096)
def physical_bound(row: Row) -> float:
    """The row's metric with every achieved share of a peak at 1 and no fixed cost (layer, step,
    sequence; no KV-stream cap): a single stream's speed no deployment on the chip can beat."""
    hw = hardware.get(row.hardware)
    return predict(row, eff=ideal(families.get(hw.family).efficiency(shipped().default)))


def _model_id(row: Row) -> str | None:
    if row.model in models.catalogue():
        return row.model
    return TWINS.get(row.model)


FOUR_BIT = ("fp4", "mxfp4", "nvfp4", "int4")


def _precision(m, dtype: str, kv: str = "") -> Precision:
    """The row's weight format (a model released in a 4-bit format keeps its own for "fp4") and its
    KV cache format (bf16 where not published)."""
    native = Precision.native(m, kv=kv or "bf16")
    if not dtype or dtype == m.weight_dtype or (dtype == "fp4" and m.expert_dtype in FOUR_BIT):
        return native
    return Precision(weight=dtype, expert=dtype if m.is_moe else native.expert, kv=native.kv)


def _batches(row: Row) -> np.ndarray:
    """Requests in flight to search: the published concurrency and the grid below it (a replica runs
    what its KV cache holds); 1 for a stream's speed when not published; the whole grid for a
    throughput whose concurrency is not published (benchmarks report the best)."""
    if row.concurrency:
        return np.unique(np.append(BATCHES[BATCHES < row.concurrency], float(row.concurrency)))
    return BATCHES if row.metric.startswith("output_tokens_per_s_") and row.metric != "output_tokens_per_s_per_user" \
        else np.array([1.0])


def predict(row: Row, profiles: Profiles | None = None, eff: Efficiency | None = None) -> float:
    """The predicted value of `row`'s metric (nan where no searched deployment fits)."""
    m, hw = models.get(_model_id(row)), hardware.get(row.hardware)
    eff = eff or (profiles or shipped()).get(None, hw)
    inp = row.input_tokens or DEFAULT_INPUT_TOKENS
    out = row.output_tokens or DEFAULT_OUTPUT_TOKENS
    pts = evaluate(m, hw, [Variant(_precision(m, row.weight_dtype, row.kv_dtype))], inp, out, eff=eff, batches=_batches(row))
    ok = _layouts(row, pts)
    if not ok.any():
        return float("nan")
    if row.metric in ("output_tokens_per_s_per_user", "ttft_s"):   # the largest batch asked, then fastest
        ok &= pts.batch == pts.batch[ok].max()
    if row.metric in ("output_tokens_per_s_per_user", "ttft_s"):
        i = int(np.argmax(np.where(ok, pts.tokens_per_s_per_user, -np.inf)))
        return float(pts.tokens_per_s_per_user[i] if row.metric != "ttft_s" else pts.ttft_s[i])
    i = int(np.argmax(np.where(ok, pts.output_tokens_per_s_per_chip, -np.inf)))
    per_chip = float(pts.output_tokens_per_s_per_chip[i])
    return {"output_tokens_per_s_per_chip": per_chip, "output_tokens_per_s_total": per_chip * _serving_chips(row, pts, i),
            "tpot_s": float(pts.tpot_s[i])}[row.metric]


def _layouts(row: Row, pts) -> np.ndarray:
    """The searched deployments the row can have measured: a replica of the published size, or any
    replica that fits the published system ("system" layout: data-parallel replicas, as MLPerf's
    Offline and Server runs are); with the published tensor-parallel degree where the source states it
    (a TP8 vLLM server is not the data-parallel layout a search may find faster); within the benchmark's
    TPOT and TTFT bounds where it has them."""
    if not row.chips:
        ok = pts.fits.copy()
    elif row.layout == "system":
        ok = pts.fits & (pts.chips_per_replica <= row.chips)
    else:
        ok = pts.fits & (pts.chips_per_replica == row.chips)
    if row.tp:
        ok &= pts.tp == row.tp
    if row.tpot_limit_s:
        ok &= pts.tpot_s <= row.tpot_limit_s
    if row.ttft_limit_s:
        ok &= pts.ttft_s <= row.ttft_limit_s
    return ok


def _serving_chips(row: Row, pts, i: int) -> float:
    """Chips that serve a total throughput: one replica, or as many whole replicas as the system holds."""
    replica = float(pts.chips_per_replica[i])
    return replica * (row.chips // replica) if row.layout == "system" else replica


def ratio(row: Row, predicted: float) -> float:
    """predicted / measured, as a speed (times inverted: > 1 means servecost is too fast)."""
    r = predicted / row.value
    return 1 / r if row.metric.endswith("_s") else r


# One or two physical factors per family, fitted to its own published speeds and throughputs where
# it has rows enough; the rest of each set is the family's stated costs (families.py).
FAMILY_FACTORS = {
    # a layer's pipeline latency on the fabric, and the share of memory bandwidth a step streams at
    "dataflow": {"layer_overhead_s": (1e-7, 1e-4), "mem_bw_frac": (0.05, 1.0)},
    # the per-layer cost of the graph's small ops and collectives, and the achieved bandwidth share
    "graph": {"layer_overhead_s": (1e-7, 1e-3), "mem_bw_frac": (0.05, 1.0)},
    # Gaudi's published runs are mostly prefill-bound (128-2,048 tokens in at up to 4,000 requests): the
    # achieved share of the MME's peak matmul rate is what they pin, then the bandwidth share; they are
    # all throughputs at large batches, which cannot pin a per-layer fixed cost (fitted with the two it
    # lands anywhere from 2 to 90 us at the same error), so it keeps its stated HPU-graph estimate
    "gaudi": {"gemm_flops_frac": (0.1, 1.0), "mem_bw_frac": (0.05, 1.0)},
    # a wafer runs every layer as a spatial pipeline on one piece of silicon (microseconds a layer), so
    # its published single-stream speeds (8B to 70B dense all near 2,000 tok/s) pin the fixed cost of a
    # step first, each token's round trip to the host for sampling and streaming; its SRAM bandwidth
    # never binds, so no bandwidth share is fitted
    "wafer": {"step_overhead_s": (1e-6, 3e-3), "layer_overhead_s": (1e-7, 1e-4)},
}
MIN_FAMILY_ROWS = 1      # below this the family keeps its stated costs
ROWS_PER_FACTOR = 6      # each further factor moves only with this many more rows
# Fitted per serving engine a family's rows name, with rows enough of its own (JetStream-PyTorch's Python
# orchestrator and vLLM-TPU differ ~2-14x in host time per running sequence on the same TPUs): the
# software's own cost, not the chip's.
ENGINE_FACTORS = {"seq_overhead_s": (1e-7, 1e-3)}
# Each fitted factor's log is pulled towards the family's stated value (a maximum a-posteriori fit, as
# calibrate.fit does), per unit log-factor relative to one row's log error, scaled by sqrt(rows): a factor
# the rows cannot pin stays near its stated estimate instead of wandering with the optimiser's start.
# (Without it TPU's per-layer cost landed anywhere from 1 to 50 us at the same error, 25.11-25.25.)
FAMILY_PRIOR_WEIGHT = 0.05


def usable(rows: list[Row]) -> list[tuple[Row, str | None]]:
    """Each row with why it is not predicted (None: it is)."""
    old = superseded(rows)
    return [(r, "superseded by a later measurement of the same deployment" if i in old else skip_reason(r))
            for i, r in enumerate(rows)]


def fitted_rows(rows: list[Row]) -> list[Row]:
    """Rows a family fit uses: predictable speeds and throughputs (TTFTs over public APIs carry the
    client's network and queue, so they are checked, not fitted)."""
    return [r for r, why in usable(rows) if why is None and r.metric != "ttft_s"]


@dataclass(frozen=True)
class FamilyFit:
    """A family's fitted factors, and per serving engine its host cost where its rows pin one."""
    shared: Efficiency
    engines: dict = field(default_factory=dict)     # engine name -> Efficiency

    def for_row(self, row: Row) -> Efficiency:
        return self.for_engine(row.engine)

    def for_engine(self, engine: str) -> Efficiency:
        return self.engines.get(engine, self.shared)


def log_errors(rows: list[Row], fit: FamilyFit) -> np.ndarray:
    out = np.array([np.log(ratio(r, predict(r, eff=fit.for_row(r)))) for r in rows])
    return np.where(np.isfinite(out), out, 0.0)


def fit_family(rows: list[Row], base: Efficiency, execution: str) -> FamilyFit:
    """`base` with the family's factors fitted (soft-L1 least squares on log predicted/measured, each
    factor's log pulled towards its stated value by FAMILY_PRIOR_WEIGHT);
    `execution` keys FAMILY_FACTORS: a family's own entry, else its execution's. Each serving engine
    named by rows enough (ROWS_PER_FACTOR) also gets its own ENGINE_FACTORS, as the factor budget allows:
    the host's time per running sequence is the software's, not the chip's."""
    from scipy.optimize import least_squares

    rows = fitted_rows(rows)
    names = list(FAMILY_FACTORS.get(execution, {}))
    if not names or len(rows) < MIN_FAMILY_ROWS:
        return FamilyFit(shared=base)
    budget = max(1, len(rows) // ROWS_PER_FACTOR)
    names = names[:budget]
    counts = {e: sum(r.engine == e for r in rows) for e in sorted({r.engine for r in rows} - {""})}
    engines = [e for e, n in counts.items() if n >= ROWS_PER_FACTOR][:max(0, budget - len(names)) // len(ENGINE_FACTORS)]
    bounds = [FAMILY_FACTORS[execution][n] for n in names] + [ENGINE_FACTORS[n] for _ in engines for n in ENGINE_FACTORS]
    lo, hi = np.log(bounds).T
    start = [getattr(base, n) for n in names] + [getattr(base, n) for _ in engines for n in ENGINE_FACTORS]
    x0 = np.clip(np.log(np.maximum(start, 1e-7)), lo + 1e-6, hi - 1e-6)

    def fit_of(x) -> FamilyFit:
        values = np.exp(x)
        shared = replace(base, **{n: float(v) for n, v in zip(names, values)})
        per_engine = values[len(names):].reshape(len(engines), len(ENGINE_FACTORS)) if engines else []
        return FamilyFit(shared=shared, engines={e: replace(shared, **dict(zip(ENGINE_FACTORS, map(float, v))))
                                                 for e, v in zip(engines, per_engine)})

    weight = FAMILY_PRIOR_WEIGHT * np.sqrt(len(rows))
    res = least_squares(lambda x: np.concatenate([log_errors(rows, fit_of(x)), weight * (x - x0)]), x0,
                        bounds=(lo, hi), loss="soft_l1", f_scale=0.25, diff_step=0.05, max_nfev=60)
    return fit_of(res.x)


@dataclass(frozen=True)
class FamilyCheck:
    """A family's published rows predicted by sets fitted without each row's model."""
    family: str
    execution: str
    rows: list            # (Row, predicted, ratio) of every predicted row, TTFTs included
    skipped: list         # (Row, reason)
    fitted: Efficiency    # the set fitted on all of the family's rows, with the host cost of the engine it plans with

    def summary(self) -> dict:
        speed = np.array([q for r, _, q in self.rows if r.metric != "ttft_s" and np.isfinite(q)])
        ttft = np.array([q for r, _, q in self.rows if r.metric == "ttft_s" and np.isfinite(q)])
        logs = np.log(speed) if speed.size else np.array([0.0])
        return {"family": self.family, "rows": int(speed.size), "skipped": len(self.skipped),
                "median_ratio": float(np.median(speed)) if speed.size else None,
                "median_ape": float(np.median(np.abs(speed - 1))) if speed.size else None,
                "log_ratio_p05": float(np.quantile(logs, 0.05)), "log_ratio_p95": float(np.quantile(logs, 0.95)),
                "ttft_rows": int(ttft.size), "ttft_median_ratio": float(np.median(ttft)) if ttft.size else None}


def check_family(rows: list[Row], profiles: Profiles | None = None) -> FamilyCheck:
    """Leave one model out: each of the family's rows predicted by factors fitted on its other models
    (a GPU family keeps its calibrated sets; it is checked, not fitted)."""
    profiles = profiles or shipped()
    hw = hardware.get(rows[0].hardware)
    fam = families.get(hw.family)
    carried = fam.efficiency(profiles.default)
    marked = usable(rows)
    kept = [r for r, why in marked if why is None]
    skipped = [(r, why) for r, why in marked if why is not None]
    key = fam.name if fam.name in FAMILY_FACTORS else fam.execution
    fitted = fit_family(kept, carried, key).for_engine(fam.engine) if fam.execution != "kernels" else carried
    out = []
    for model in sorted({r.model for r in kept}):
        test = [r for r in kept if r.model == model]
        if fam.execution == "kernels":
            preds = [predict(r, profiles) for r in test]
        else:
            fit = fit_family([r for r in kept if r.model != model], carried, key)
            preds = [predict(r, eff=fit.for_row(r)) for r in test]
        out += [(r, p, ratio(r, p)) for r, p in zip(test, preds)]
    return FamilyCheck(family=hw.family, execution=fam.execution, rows=out, skipped=skipped, fitted=fitted)


def by_family(rows: list[Row]) -> dict[str, list[Row]]:
    """Rows grouped by the family of their chip (rows on chips outside the catalogue dropped)."""
    out: dict[str, list[Row]] = {}
    for r in rows:
        if r.hardware in hardware.known():
            out.setdefault(hardware.get(r.hardware).family, []).append(r)
    return out
