"""Frontier charts: an interactive Plotly page (self-contained, works offline) and a static PNG."""

import numpy as np

from pathlib import Path

from .frontier import METRICS, Curve

VENDOR_COLOURS = {   # one hue family per vendor, one shade per chip
    "NVIDIA": ["#1b5e20", "#2e7d32", "#388e3c", "#43a047", "#66bb6a", "#81c784", "#a5d6a7"],
    "AMD": ["#b71c1c", "#e53935", "#ef9a9a"],
    "Google": ["#0d47a1", "#1976d2", "#42a5f5", "#90caf9"],
    "Cerebras": ["#e65100"], "Groq": ["#6a1b9a"], "AWS": ["#ff8f00"], "Intel": ["#00838f"], "SambaNova": ["#5d4037"],
}


LINESTYLES = ["-", "--", "-.", ":"]


def linestyles(curves: list[Curve]) -> dict[str, str]:
    """Chips of one vendor share a hue; a dash pattern tells them apart in the PNG."""
    used: dict[str, int] = {}
    out = {}
    for c in curves:
        out[c.hardware] = LINESTYLES[used.get(c.vendor, 0) % len(LINESTYLES)]
        used[c.vendor] = used.get(c.vendor, 0) + 1
    return out


def colours(curves: list[Curve]) -> dict[str, str]:
    used: dict[str, int] = {}
    out = {}
    for c in curves:
        shades = VENDOR_COLOURS.get(c.vendor, ["#607d8b"])
        out[c.hardware] = shades[used.get(c.vendor, 0) % len(shades)]
        used[c.vendor] = used.get(c.vendor, 0) + 1
    return out


def _hover(p: dict) -> str:
    mode = "disaggregated" if p["mode"] == "disaggregated" else "aggregated"
    spec = f", MTP {p['draft_tokens']} drafts" if p["draft_tokens"] else ""
    return (f"{p['tokens_per_s_per_user']:.1f} tok/s/user, TTFT {p['ttft_s']:.2f} s<br>"
            f"{p['per_chip']:,.0f} tok/s/chip · {p['per_mw'] / 1e6:,.2f}M tok/s/MW · ${p['usd_per_mtok']:.3f}/Mtok<br>"
            f"{p['chips_per_replica']} chips/replica: tp {p['tp']} · attn-dp {p['dp_attn']} · pp {p['pp']} · "
            f"ep {p['ep']} · batch {p['batch']}<br>{mode}{spec} · weights {p['weight_dtype']}/{p['expert_dtype']} "
            f"· KV {p['kv_dtype']}")


def html(curves: list[Curve], title: str, path: str | Path, speed: float | None = None) -> None:
    """Write a self-contained HTML page: one curve per accelerator, a selector for the y metric."""
    import plotly.graph_objects as go

    fig = go.Figure()
    col = colours(curves)
    metrics = list(METRICS)
    owner = []   # the metric each trace belongs to
    for mi, metric in enumerate(metrics):
        for c in curves:
            pts = c.points[metric]
            if not pts:
                continue
            fig.add_trace(go.Scatter(
                x=[p["tokens_per_s_per_user"] for p in pts], y=[p[metric] for p in pts], mode="lines+markers",
                name=c.hardware, legendgroup=c.vendor, legendgrouptitle_text=c.vendor,
                line={"color": col[c.hardware], "width": 2, "shape": "hv" if METRICS[metric][2] else "vh"},
                marker={"size": 4}, visible=mi == 0, hovertext=[_hover(p) for p in pts],
                hovertemplate="<b>" + c.name + "</b><br>%{hovertext}<extra></extra>"))
            owner.append(mi)
        for c in curves:
            if c.plan_point:
                o = c.plan_point
                fig.add_trace(go.Scatter(
                    x=[o.tokens_per_s_per_user], y=[o.metrics[metric]], mode="markers", name=f"{c.hardware} plan",
                    legendgroup=c.vendor, showlegend=False, visible=mi == 0,
                    marker={"symbol": "star", "size": 14, "color": col[c.hardware], "line": {"width": 1, "color": "black"}},
                    hovertemplate=f"<b>plan's pick on {c.name}</b><br>{o.chips:,} chips, "
                                  f"${o.usd_per_mtok_output:.3f}/Mtok<extra></extra>"))
                owner.append(mi)
    buttons = []
    for mi, metric in enumerate(metrics):
        label, unit, _ = METRICS[metric]
        visible = [o == mi for o in owner]
        buttons.append({"label": f"{label} ({unit})", "method": "update",
                        "args": [{"visible": visible}, {"yaxis.title.text": f"{label} ({unit})"}]})
    label0, unit0, _ = METRICS[metrics[0]]
    xs = [p["tokens_per_s_per_user"] for c in curves for pts in c.points.values() for p in pts]
    x_range = [np.log10(min(xs)) - 0.05, np.log10(max(xs)) + 0.05] if xs else None   # axis ranges, annotations: log10
    if speed:
        fig.add_shape(type="line", xref="x", yref="paper", x0=speed, x1=speed, y0=0, y1=1,   # shapes: data units
                      line={"dash": "dash", "color": "grey", "width": 1})
        fig.add_annotation(x=np.log10(speed), y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                           text=f"{speed:g} tok/s/user asked; stars: plan's pick", font={"size": 11, "color": "grey"})
    fig.update_layout(
        title={"text": title, "x": 0.01, "y": 0.98}, template="plotly_white", height=760,
        xaxis={"title": "output tokens/s per user (interactivity)", "type": "log", "range": x_range},
        yaxis={"title": f"{label0} ({unit0})", "type": "log"},
        legend={"groupclick": "toggleitem", "font": {"size": 11}},
        updatemenus=[{"buttons": buttons, "direction": "down", "x": 0.0, "xanchor": "left", "y": 1.06,
                      "yanchor": "bottom", "showactive": True, "pad": {"t": 0}}],
        annotations=list(fig.layout.annotations) + [{"text": "y axis:", "x": 0.0, "xref": "paper", "xanchor": "right",
                                                      "y": 1.085, "yref": "paper", "showarrow": False}],
        margin={"t": 130, "l": 90})
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)


def png(curves: list[Curve], title: str, path: str | Path, speed: float | None = None) -> None:
    """Write a static PNG: the three metrics side by side against tokens/s per user, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    col, dash = colours(curves), linestyles(curves)
    fig, axes = plt.subplots(1, 3, figsize=(18, 6.5), constrained_layout=True)
    for ax, metric in zip(axes, METRICS):
        label, unit, _ = METRICS[metric]
        for c in curves:
            pts = c.points[metric]
            if not pts:
                continue
            ax.step([p["tokens_per_s_per_user"] for p in pts], [p[metric] for p in pts],
                    where="post" if METRICS[metric][2] else "pre", color=col[c.hardware], lw=1.6,
                    ls=dash[c.hardware], label=f"{c.hardware} ({c.vendor})")
            if c.plan_point:
                o = c.plan_point
                ax.plot([o.tokens_per_s_per_user], [o.metrics[metric]], marker="*", ms=11, color=col[c.hardware], mec="black",
                        mew=0.6, ls="none")
        if speed:
            ax.axvline(speed, color="grey", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("output tokens/s per user")
        ax.set_ylabel(f"{label} ({unit})")
        ax.grid(True, which="both", alpha=0.25)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=9, title="accelerator")
    fig.suptitle(title + ("   (stars: plan's pick, dashed: asked speed)" if speed else ""), fontsize=12)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def batch_png(curves: dict, deadlines_s, title: str, path: str | Path, unserved: dict | None = None) -> None:
    """Dedicated batch $/Mtok against deadline per accelerator, its interactive cost dashed; the
    accelerators left out (`unserved`: id -> why) are named under the plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 6.5), constrained_layout=True)
    cmap = plt.get_cmap("tab20")
    hours = np.asarray(deadlines_s) / 3600
    for n, (hw_id, (costs, interactive)) in enumerate(curves.items()):
        colour = cmap(n % 20)
        ok = np.isfinite(costs)
        ax.plot(hours[ok], costs[ok], color=colour, lw=1.8, label=hw_id)
        ax.axhline(interactive, color=colour, lw=0.8, ls="--", alpha=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch deadline (hours)")
    ax.set_ylabel("cost per million output tokens ($/Mtok)")
    ax.grid(True, which="both", alpha=0.25)
    if curves:
        fig.legend(loc="outside right center", fontsize=9, title="accelerator (dashed: interactive)")
    else:
        ax.text(0.5, 0.5, "no accelerator serves the interactive speed", transform=ax.transAxes, ha="center")
    if unserved:
        ax.set_xlabel("batch deadline (hours)\nnot shown: " + "; ".join(f"{hw}: {why}" for hw, why in unserved.items()),
                      fontsize=9)
    ax.set_title(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def outlook_png(data: dict, path: str | Path) -> None:
    """$/Mtok per accelerator over the roster's years (log scale); a gap where it cannot serve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 6.5), constrained_layout=True)
    cmap = plt.get_cmap("tab20")
    years = [y["year"] for y in data["roster"]]
    for n, r in enumerate(data["hardware"]):
        costs = [c["usd_per_mtok_output"] if c["usd_per_mtok_output"] else np.nan for c in r["years"]]
        ax.plot(years, costs, marker="o", color=cmap(n % 20), lw=1.6, label=r["hardware"])
    ax.set_yscale("log")
    ax.set_xticks(years, [f"year {y['year']}\n{y['name']}" for y in data["roster"]], fontsize=8)
    ax.set_ylabel(f"$ per million output tokens at {data['speed_tokens_per_s']:g} tok/s/user")
    ax.grid(True, which="both", alpha=0.25)
    fig.legend(loc="outside right center", fontsize=9, title="accelerator")
    ax.set_title("Cost per token of each year's model on today's hardware")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cost_png(plan_result: dict, path: str | Path) -> None:
    """Each accelerator's $/Mtok (written at the bar's end) split into its shares: capex, facility,
    energy and other opex (or cloud rent)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    options = plan_result["options"][::-1]
    parts = ["capex", "facility", "energy", "other", "cloud"]
    colours = {"capex": "#1565c0", "facility": "#90a4ae", "energy": "#f9a825", "other": "#6d4c41", "cloud": "#7b1fa2"}
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(options) + 1.8), constrained_layout=True)
    names = [o["hardware"] for o in options]
    left = np.zeros(len(options))
    for part in parts:
        shares = np.array([o["cost_breakdown_usd_per_hour"].get(f"{part}_usd_per_hour", 0.0)
                           / max(sum(o["cost_breakdown_usd_per_hour"].values()), 1e-12) for o in options])
        if shares.any():
            ax.barh(names, shares * 100, left=left, color=colours[part], label=part)
            left += shares * 100
    for i, o in enumerate(options):
        ax.text(101, i, f"\\${o['usd_per_mtok_output']:,.2f}/Mtok", va="center", fontsize=9)
    ax.set_xlim(0, 118)
    ax.set_xlabel("share of the cost per token (%)")
    sc = plan_result["scenario"]
    ax.set_title(f"{plan_result['model']['name']}: what the cost per token is made of "
                 f"({sc['users']:,} users x {sc['speed_tokens_per_s']:g} tok/s, cheapest first)")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.04), ncol=5, frameon=False)
    fig.savefig(path, dpi=110)
    plt.close(fig)
