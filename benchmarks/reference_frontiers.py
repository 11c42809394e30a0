"""Published DeepSeek-R1 throughput-vs-interactivity points beside servecost's predictions.

tests/data/reference_frontiers.csv holds the published points with their sources (InferenceX
dashboards and blog, TensorRT-LLM and SGLang docs). Two kinds of comparison:
  * frontier points (a dashboard's best throughput at an interactivity): the predicted frontier's
    best output tokens/s per GPU at that tokens/s per user, same precision, lengths, engine profile,
    MTP and disaggregation as stated (unstated: searched), and like for like, with no more requests
    in flight per replica than the published point ran (a dashboard's curve ends where its sweep
    of concurrencies ended: 64 for the AMD chips);
  * fixed runs (GPUs, concurrency, no disaggregation given): the same run predicted directly
    (attention data-parallel over the GPUs, experts over them), tokens/s per user and per GPU;
  * disaggregated runs with their layout ("prefill N GPU TP=N; decode M GPU EP=k", concurrency c):
    M/k decode workers of k GPUs (attention-DP k, EP k) with c/(M/k) requests each, predicted as
    servecost's decode pool; output tokens/s per GPU = c x tokens/s per user / (N + M).
Throughput published as input+output tokens is converted to output tokens: x OSL / (ISL + OSL).
The 90% band of a throughput from benchmarks/accuracy.py is the yardstick.

Run: python benchmarks/reference_frontiers.py [--png docs/reference-frontiers-deepseek-r1.png]
(--png draws each published curve beside the predicted frontier and its 90% band)
"""

from pathlib import Path

import numpy as np
import pandas as pd

from servecost import bands, hardware, models
from servecost.economics import Assumptions
from servecost.parallel import Parallel
from servecost.plan import Scenario, search_points
from servecost.search import pareto_mask
from servecost.profiles import shipped
from servecost.roofline import Precision
from servecost.serving import aggregated, disaggregated
from servecost.speculative import MTP_ONE_DRAFT, NONE

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference_frontiers.csv"
ENGINES = {"dynamo-trtllm": "trtllm", "trtllm": "trtllm", "sglang": "sglang", "mori-sglang": "sglang", "vllm": "vllm"}


def _precision(m, hw_id: str, precision: str) -> Precision:
    if precision == "fp4":   # NVFP4 / MXFP4 checkpoints quantise the experts; attention stays fp8
        return Precision(weight="fp8", expert="nvfp4" if hardware.get(hw_id).vendor == "NVIDIA" else "mxfp4", kv="fp8")
    return Precision(weight=m.weight_dtype, expert=m.expert_dtype, kv="fp8")


def _flag(value) -> bool | None:
    return None if pd.isna(value) else str(value).strip().lower() == "yes"


def _layout(text) -> tuple[int, int, int] | None:
    """(prefill GPUs, decode GPUs, decode EP) from 'prefill 4 GPU TP=4; decode 32 GPU EP=8'."""
    import re
    found = re.fullmatch(r"prefill (\d+) GPU TP=\d+; decode (\d+) GPU EP=(\d+)", str(text).strip())
    return tuple(int(g) for g in found.groups()) if found else None


def _fixed_parallel(text, gpus: int) -> Parallel:
    """The stated layout of a fixed run: attention data-parallel over the GPUs when it says so
    ('attention-DP8', 'dp-attention'), else attention TP over them; experts over 'EP k' GPUs (else the
    MoE is tensor-parallel over all). Unstated: attention-DP and EP over all GPUs."""
    import re
    text = "" if pd.isna(text) else str(text)
    if not text:
        return Parallel(tp=1, dp_attn=gpus, ep=gpus)
    dp = gpus if re.search(r"attention-DP|dp-attention", text, re.I) else 1
    ep = re.search(r"EP(\d+)", text)
    return Parallel(tp=gpus // dp, dp_attn=dp, ep=int(ep.group(1)) if ep else 1)


def predict_row(row) -> dict:
    m, hw = models.get(row.model), hardware.get(row.hardware)
    eff = shipped().get(ENGINES.get(row.engine, ""), hw.id)
    prec = _precision(m, hw.id, row.precision)
    measured_out = row.output_tokens_per_s_per_gpu * (
        row.osl / (row.isl + row.osl) if row.throughput_metric.startswith("total") else 1.0)
    mtp, disagg = _flag(row.mtp), _flag(row.disaggregated)
    layout = _layout(row.parallelism)
    if disagg and layout and not pd.isna(row.concurrency):
        prefill_gpus, decode_gpus, ep = layout
        workers = decode_gpus // ep
        spec = MTP_ONE_DRAFT if mtp else NONE
        sp = disaggregated(m, hw, Parallel(tp=1, dp_attn=ep, ep=ep), prec, row.concurrency / workers, row.isl,
                           row.osl, eff, spec)
        user = float(sp.tokens_per_s_per_user)
        return {"kind": "disagg run", "measured_user": row.tokens_per_s_per_user, "measured_gpu": measured_out,
                "predicted_user": user, "predicted_gpu": row.concurrency * user / (prefill_gpus + decode_gpus)}
    if disagg is False and not pd.isna(row.gpus) and not pd.isna(row.concurrency):
        gpus = int(row.gpus)
        spec = MTP_ONE_DRAFT if mtp else NONE
        sp = aggregated(m, hw, _fixed_parallel(row.parallelism, gpus), prec, row.concurrency, row.isl, row.osl, eff,
                        spec)
        return {"kind": "fixed run", "measured_user": row.tokens_per_s_per_user, "measured_gpu": measured_out,
                "predicted_user": float(sp.tokens_per_s_per_user), "predicted_gpu": float(sp.output_tokens_per_s) / gpus}
    sc = Scenario(model=row.model, input_tokens=int(row.isl), output_tokens=int(row.osl), precisions="native",
                  weight_dtype=prec.weight, expert_dtype=prec.expert, kv_dtype=prec.kv,
                  speculation=mtp is not False, disaggregation=disagg is not False)
    pts = search_points(m, hw, sc, Assumptions(), eff)
    ok = pts.fits & (pts.tokens_per_s_per_user >= row.tokens_per_s_per_user)
    if not pd.isna(row.concurrency):   # like for like: no more requests in flight per replica than were run
        ok &= pts.batch <= row.concurrency
    best = float(np.max(np.where(ok, pts.output_tokens_per_s_per_chip, 0.0)))
    return {"kind": "frontier", "measured_user": row.tokens_per_s_per_user, "measured_gpu": measured_out,
            "predicted_user": row.tokens_per_s_per_user, "predicted_gpu": best}


def predicted_curve(row) -> tuple[np.ndarray, np.ndarray]:
    """The predicted frontier (tokens/s per user, output tokens/s per GPU) for a row's setting."""
    m, hw = models.get(row.model), hardware.get(row.hardware)
    eff = shipped().get(ENGINES.get(row.engine, ""), hw.id)
    prec = _precision(m, hw.id, row.precision)
    mtp, disagg = _flag(row.mtp), _flag(row.disaggregated)
    sc = Scenario(model=row.model, input_tokens=int(row.isl), output_tokens=int(row.osl), precisions="native",
                  weight_dtype=prec.weight, expert_dtype=prec.expert, kv_dtype=prec.kv,
                  speculation=mtp is not False, disaggregation=disagg is not False)
    pts = search_points(m, hw, sc, Assumptions(), eff)
    x, y = pts.tokens_per_s_per_user[pts.fits], pts.output_tokens_per_s_per_chip[pts.fits]
    keep = pareto_mask(x, y)
    order = np.argsort(x[keep])
    return x[keep][order], y[keep][order]


def chart(ref: pd.DataFrame, df: pd.DataFrame, path: str) -> None:
    """One panel per (accelerator, precision, lengths): published points (o: frontier, x: fixed run)
    beside the predicted frontier and its 90% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = ref.assign(measured_gpu=df.measured_gpu.values, kind=df.kind.values, predicted_user=df.predicted_user.values,
                     predicted_gpu=df.predicted_gpu.values)
    nominal = {(1024, 1024), (1024, 8192), (8192, 1024)}   # the dashboards' lengths
    groups = [(k, g) for k, g in ref.groupby(["hardware", "precision", "isl", "osl"])
              if (g.kind != "fixed run").any() or (k[2], k[3]) in nominal]
    cols = 4
    rows_n = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.4 * cols, 3.4 * rows_n), constrained_layout=True)
    lo, hi = bands.rate_band(1.0)
    for ax, ((hw_id, prec, isl, osl), g) in zip(axes.flat, groups):
        x, y = predicted_curve(g.iloc[0])
        ax.fill_between(x, y * lo, y * hi, step="pre", color="#90caf9", alpha=0.5, lw=0, label="90% band")
        ax.step(x, y, where="pre", color="#1565c0", lw=1.5, label="servecost frontier")
        for kind, marker in (("frontier", "o"), ("disagg run", "s"), ("fixed run", "x")):
            part = g[g.kind == kind]
            if not len(part):
                continue
            ax.plot(part.tokens_per_s_per_user, part.measured_gpu, marker, color="#d84315", ms=5,
                    label={"frontier": "published frontier", "disagg run": "published disaggregated run",
                           "fixed run": "published run"}[kind])
            # the same deployment (frontier points: the best at no more requests in flight) predicted,
            # joined to its measurement
            ax.plot(part.predicted_user, part.predicted_gpu, marker, mfc="none", color="#0d47a1", ms=6,
                    label={"frontier": "predicted at its concurrency", "disagg run": "same deployment, predicted",
                           "fixed run": "same run, predicted"}[kind])
            for r in part.itertuples():
                ax.plot([r.tokens_per_s_per_user, r.predicted_user], [r.measured_gpu, r.predicted_gpu],
                        color="#888888", lw=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{hw_id} {prec} {isl}/{osl} ({', '.join(sorted(set(g.engine)))})", fontsize=9)
        ax.grid(True, which="both", alpha=0.25)
        ax.set_xlabel("tokens/s per user", fontsize=8)
        ax.set_ylabel("output tokens/s per GPU", fontsize=8)
    for ax in list(axes.flat)[len(groups):]:
        ax.axis("off")
    seen = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncol=len(seen), fontsize=9)
    fig.suptitle("DeepSeek-R1: published throughput vs interactivity beside servecost's frontier", fontsize=12)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(png: str | None = None) -> None:
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
    by_vendor = df.assign(vendor=[hardware.get(h).vendor for h in df.hardware]).groupby("vendor")
    for vendor, part in by_vendor:
        print(f"  {vendor}: {len(part)} points, median x{part.gpu_ratio.median():.2f}, "
              f"{part.in_band.mean():.0%} within the band")
    if png:
        chart(ref, df, png)
        print(f"wrote {png}")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--png", default=None)
    main(ap.parse_args().png)
