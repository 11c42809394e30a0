"""Simulation charts: latency CDFs per class, and a timeline of load, queues and KV use."""

from pathlib import Path

import numpy as np

from .summary import SloSummary
from .workload import BATCH, INTERACTIVE

CLASS_STYLE = {INTERACTIVE: ("interactive", "#1565c0"), BATCH: ("batch", "#ef6c00")}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def latency_cdf_png(frame, slo: SloSummary, title: str, path: str | Path) -> None:
    """Empirical CDFs of TTFT, TPOT and end-to-end latency, one line per class, SLOs dashed."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)
    for ax, (col, label) in zip(axes, [("ttft_s", "time to first token (s)"), ("tpot_s", "time per output token (s)"),
                                       ("e2e_s", "end-to-end latency (s)")]):
        for k, (name, colour) in CLASS_STYLE.items():
            x = np.sort(frame.loc[frame["class"] == name, col].dropna().to_numpy())
            if x.size:
                ax.plot(x, np.arange(1, x.size + 1) / x.size, color=colour, lw=1.8, label=f"{name} ({x.size:,})")
        target_s = {"ttft_s": slo.ttft_s, "tpot_s": slo.tpot_s}.get(col)
        if target_s is not None:
            ax.axvline(target_s, color="grey", ls="--", lw=1, label=f"target {target_s:g} s")
        ax.axhline(0.99, color="#bbbbbb", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("fraction of requests")
        ax.set_ylim(0, 1.01)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title + "  (grey line: p99)", fontsize=12)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def timeline_png(frame, series, max_seqs_total: int, title: str, path: str | Path, bins: int = 200) -> None:
    """Over simulated time: arrivals and completions per class (requests/s), waiting requests, KV use."""
    plt = _plt()
    t_end = max(float(series["t"].max()) if len(series) else 0.0, float(frame["arrival_s"].max()), 1e-9)
    scale, unit = (3600.0, "h") if t_end > 4 * 3600 else (60.0, "min") if t_end > 600 else (1.0, "s")
    edges = np.linspace(0, t_end, bins + 1)
    width = edges[1] - edges[0]
    mid = (edges[:-1] + edges[1:]) / 2 / scale
    fig, axes = plt.subplots(3, 1, figsize=(12, 9), sharex=True, constrained_layout=True)
    for name, colour in CLASS_STYLE.values():
        mine = frame[frame["class"] == name]
        if mine.empty:
            continue
        arr, _ = np.histogram(mine["arrival_s"], edges)
        fin, _ = np.histogram(mine["finish_s"].dropna(), edges)
        axes[0].plot(mid, arr / width, color=colour, lw=1, ls=":", label=f"{name} arrivals")
        axes[0].plot(mid, fin / width, color=colour, lw=1.8, label=f"{name} completions")
    axes[0].set_ylabel("requests/s")
    axes[0].legend(fontsize=8, ncol=2)
    t = series["t"] / scale
    axes[1].plot(t, series["queued"], color=CLASS_STYLE[INTERACTIVE][1], label="interactive waiting")
    axes[1].plot(t, series["batch_queued"], color=CLASS_STYLE[BATCH][1], label="batch waiting")
    axes[1].plot(t, series["running"], color="black", lw=1, label=f"running (cap {max_seqs_total:,})")
    axes[1].set_ylabel("requests")
    axes[1].set_yscale("symlog", linthresh=10)
    axes[1].legend(fontsize=8)
    axes[2].plot(t, 100 * series["kv_frac"], color="#6a1b9a")
    axes[2].set_ylabel("KV cache in use (%)")
    axes[2].set_ylim(0, 105)
    axes[2].set_xlabel(f"simulated time ({unit})")
    for ax in axes:
        ax.grid(True, alpha=0.25)
    fig.suptitle(title, fontsize=12)
    fig.savefig(path, dpi=110)
    plt.close(fig)
