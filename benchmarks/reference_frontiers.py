"""Published DeepSeek-R1 throughput-vs-interactivity points beside servecost's predictions.

tests/data/reference_frontiers.csv holds the published points with their sources (InferenceX
dashboards and blog, TensorRT-LLM and SGLang docs). Two kinds of comparison:
  * frontier points (a dashboard's best throughput at an interactivity): the predicted frontier's
    best output tokens/s per GPU at that tokens/s per user, same precision, lengths, engine profile,
    MTP and disaggregation as stated (unstated: searched);
  * fixed runs (GPUs, concurrency, no disaggregation given): the same run predicted directly
    (attention data-parallel over the GPUs, experts over them), tokens/s per user and per GPU.
Throughput published as input+output tokens is converted to output tokens: x OSL / (ISL + OSL).
The 90% band of a throughput from benchmarks/accuracy.py is the yardstick.

Run: python benchmarks/reference_frontiers.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

from servecost import bands, hardware, models
from servecost.economics import Assumptions
from servecost.parallel import Parallel
from servecost.plan import Scenario, search_points
from servecost.profiles import shipped
from servecost.roofline import Precision
from servecost.serving import aggregated
from servecost.speculative import MTP_ACCEPTANCE_FRAC, NONE, Speculation

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference_frontiers.csv"
ENGINES = {"dynamo-trtllm": "trtllm", "trtllm": "trtllm", "sglang": "sglang", "mori-sglang": "sglang", "vllm": "vllm"}


def _precision(m, hw_id: str, precision: str) -> Precision:
    if precision == "fp4":   # NVFP4 / MXFP4 checkpoints quantise the experts; attention stays fp8
        return Precision(weight="fp8", expert="nvfp4" if hardware.get(hw_id).vendor == "NVIDIA" else "mxfp4", kv="fp8")
    return Precision(weight=m.weight_dtype, expert=m.expert_dtype, kv="fp8")


def _flag(value) -> bool | None:
    return None if pd.isna(value) else str(value).strip().lower() == "yes"


def predict_row(row) -> dict:
    m, hw = models.get(row.model), hardware.get(row.hardware)
    eff = shipped().get(ENGINES.get(row.engine, ""), hw.id)
    prec = _precision(m, hw.id, row.precision)
    measured_out = row.output_tokens_per_s_per_gpu * (
        row.osl / (row.isl + row.osl) if row.throughput_metric.startswith("total") else 1.0)
    mtp, disagg = _flag(row.mtp), _flag(row.disaggregated)
    if disagg is False and not pd.isna(row.gpus) and not pd.isna(row.concurrency):
        gpus = int(row.gpus)
        spec = Speculation(1, MTP_ACCEPTANCE_FRAC) if mtp else NONE
        sp = aggregated(m, hw, Parallel(tp=1, dp_attn=gpus, ep=gpus), prec, row.concurrency, row.isl, row.osl, eff, spec)
        return {"kind": "fixed run", "measured_user": row.tokens_per_s_per_user, "measured_gpu": measured_out,
                "predicted_user": float(sp.tokens_per_s_per_user), "predicted_gpu": float(sp.output_tokens_per_s) / gpus}
    sc = Scenario(model=row.model, input_tokens=int(row.isl), output_tokens=int(row.osl), precisions="native",
                  weight_dtype=prec.weight, expert_dtype=prec.expert, kv_dtype=prec.kv,
                  speculation=mtp is not False, disaggregation=disagg is not False)
    pts = search_points(m, hw, sc, Assumptions(), eff)
    ok = pts.fits & (pts.tokens_per_s_per_user >= row.tokens_per_s_per_user)
    best = float(np.max(np.where(ok, pts.output_tokens_per_s_per_chip, 0.0)))
    return {"kind": "frontier", "measured_user": row.tokens_per_s_per_user, "measured_gpu": measured_out,
            "predicted_user": row.tokens_per_s_per_user, "predicted_gpu": best}


def main() -> None:
    ref = pd.read_csv(REFERENCE)
    rows = []
    for row in ref.itertuples():
        out = predict_row(row)
        rows.append({"hardware": row.hardware, "precision": row.precision, "engine": row.engine,
                     "isl/osl": f"{row.isl}/{row.osl}", "conc": row.concurrency, **out,
                     "gpu_ratio": out["predicted_gpu"] / out["measured_gpu"]})
    df = pd.DataFrame(rows)
    lo, hi = bands.rate_band(1.0)
    df["in_band"] = (df.gpu_ratio >= lo) & (df.gpu_ratio <= hi)
    pd.set_option("display.width", 200)
    print(df.round(2).to_string(index=False))
    print(f"\n90% throughput band (cross-validated TPOT residuals): x{lo:.2f} - x{hi:.2f}")
    for kind, part in df.groupby("kind"):
        print(f"{kind}: {len(part)} points, predicted/measured per GPU median x{part.gpu_ratio.median():.2f}, "
              f"{part.in_band.mean():.0%} within the band")
    print(f"all: {len(df)} points, median x{df.gpu_ratio.median():.2f}, {df.in_band.mean():.0%} within the band")


if __name__ == "__main__":
    main()
