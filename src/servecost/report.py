"""Rendering results as a rich table, JSON or CSV. No computation here."""

import csv
from collections import Counter
import io
import json
import sys

from rich.console import Console
from rich.table import Table

from . import hardware, memory, models
from .params import active_params, kv_elements_per_token_layer, total_params
from .units import GB, GiB


def emit(text: str | Table, fmt: str) -> None:
    if isinstance(text, str):
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        Console(width=220 if not sys.stdout.isatty() else None).print(text)


def frame_table(frame, title: str) -> Table:
    """A pandas table as a rich table, numbers to 4 significant digits."""
    t = Table(title=title)
    for col in frame.columns:
        t.add_column(str(col), justify="right")
    for row in frame.itertuples(index=False):
        t.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    return t


def _csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    buf = io.StringIO()
    flat = [{k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in r.items()} for r in rows]
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in flat for k in r)))   # rows may differ
    writer.writeheader()
    writer.writerows(flat)
    return buf.getvalue()


def _money(x: float) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"${x / scale:,.2f}{unit}"
    return f"${x:,.2f}"


def _band(band: list[float], fmt: str) -> str:
    return f"[dim]({fmt.format(band[0])}-{fmt.format(band[1])})[/dim]"


def _prefill_layout(p: dict) -> str:
    """'prefill 8 x b200 tp/dp/pp/ep 1/8/1/1, 32k tok/step' (the prefill worker)."""
    return (f"prefill {p['chips_per_worker']} x {p['hardware']} {p['tp']}/{p['dp_attn']}/{p['pp']}/{p['ep']}, "
            f"{p['budget_tokens'] / 1e3:,.0f}k tok/step")


def _serving(o: dict) -> str:
    """'agg' or 'disagg P:D 0.14' (prefill : decode chips) and the prefill worker, speculation, and
    dtypes: weights/experts, KV."""
    if o["mode"] == "aggregated":
        mode = "agg"
    else:
        mode = f"disagg P:D {o['prefill_decode_chip_ratio']:.2f}"
    spec = f" {o['speculation']}" if o["draft_tokens"] else ""
    weights = o["weight_dtype"] if o["weight_dtype"] == o["expert_dtype"] else f"{o['weight_dtype']}/{o['expert_dtype']}"
    layout = f"\n[dim]{_prefill_layout(o['prefill'])}[/dim]" if o.get("prefill") else ""
    return f"{mode}{spec} {weights} kv:{o['kv_dtype']}{layout}"


def plan_output(result, fmt: str):
    data = result.as_dict()
    if fmt == "json":
        return json.dumps(data, indent=2)
    if fmt == "csv":
        return _csv(data["options"] + [dict(r, infeasible=True) for r in data["infeasible"]])
    sc, m = data["scenario"], data["model"]
    title = (f"{m['name']} ({m['total_params'] / 1e9:,.0f}B total, {m['active_params'] / 1e9:,.1f}B active, "
             f"{m['weight_gb']:,.0f} GB) - {sc['users']:,} users x {sc['speed_tokens_per_s']:g} tok/s, "
             f"{sc['input_tokens']} in / {sc['output_tokens']} out tokens per request")
    if sc.get("prefix_cache_hit_frac"):
        title += f", {sc['prefix_cache_hit_frac']:.0%} of prompt tokens from the prefix cache"
    per_daily = bool(sc.get("daily_users"))
    t = Table(title=title, title_justify="left")
    for col, just in [("hardware", "left"), ("chips", "right"), ("chips/replica", "right"), ("tp/dp/pp/ep", "right"),
                      ("serving", "left"),
                      ("batch", "right"), ("tok/s/user", "right"), ("TTFT s", "right"), ("tok/s/chip", "right"),
                      ("MW", "right"), ("capex", "right"), ("$/hour", "right"), ("$/Mtok", "right"),
                      ("$/daily user/mo" if per_daily else "$/stream/mo", "right")]:
        t.add_column(col, justify=just)
    for o in data["options"]:
        t.add_row(o["hardware"] + ("" if o["calibrated"] else " *"), f"{o['chips']:,}", str(o["chips_per_replica"]),
                  f"{o['tp']}/{o['dp_attn']}/{o['pp']}/{o['ep']}", _serving(o), str(o["batch_per_replica"]),
                  f"{o['tokens_per_s_per_user']:,.1f} {_band(o['tokens_per_s_per_user_band'], '{:,.0f}')}",
                  f"{o['ttft_s']:.2f} {_band(o['ttft_s_band'], '{:.2f}')}",
                  f"{o['demanded_tokens_per_s_per_chip']:,.0f}", f"{o['power_mw']:,.1f}", _money(o["capex_usd"]),
                  _money(o["usd_per_hour"]),
                  f"${o['usd_per_mtok_output']:,.3f} {_band(o['usd_per_mtok_output_band'], '{:,.2f}')}"
                  + (f"\n[cyan]MC ${o['usd_per_mtok_output_mc']['median']:,.3f} "
                     f"({o['usd_per_mtok_output_mc']['p05']:,.2f}-{o['usd_per_mtok_output_mc']['p95']:,.2f})[/cyan]"
                     if "usd_per_mtok_output_mc" in o else ""), f"${o['usd_per_user_month']:,.2f}")
    for r in data["infeasible"]:
        t.add_row(f"[dim]{r['hardware']}[/dim]", "-", "-", "-", "", "-",
                  f"[dim]max {r['max_tokens_per_s_per_user']:,.1f}[/dim]", "", f"[dim]{r['reason']}[/dim]")
    a = data["assumptions"]
    uncalibrated = _backing_note(data["options"]) if not all(o["calibrated"] for o in data["options"]) else ""
    t.caption = ("(90% bands from cross-validated residuals, benchmarks/accuracy.py)\n"
                 "$/Mtok = fleet $/hour / the tokens asked for (users x speed x load); tok/s/chip: asked tokens per "
                 "chip; an option faster than asked is not credited for it. "
                 + ("$/daily user/mo: the fleet's month over the daily users.\n" if per_daily else
                    "$/stream/mo: the fleet's month over the concurrent streams (give --daily-users for per user).\n")
                 + uncalibrated
                 + "assumptions: " + ", ".join(f"{k}={v}" for k, v in a.items()
                                               if k not in ("efficiency", "efficiency_differs_for"))
                 + "\nefficiency: " + ", ".join(f"{k}={v:g}" for k, v in a["efficiency"].items())
                 + (f" (its generation's or family's own fitted set for: {', '.join(a['efficiency_differs_for'])})"
                    if a.get("efficiency_differs_for") else ""))
    t.caption_justify = "left"
    return t


def record_output(record: dict, fmt: str):
    if fmt == "json":
        return json.dumps(record, indent=2)
    if fmt == "csv":
        return _csv([record])
    t = Table(show_header=False)
    for k, v in record.items():
        if isinstance(v, list) and all(isinstance(x, float) for x in v):
            t.add_row(k, " - ".join(f"{x:,.6g}" for x in v) + ("  (90%)" if k.endswith("_band") else ""))
        else:
            t.add_row(k, f"{v:,.6g}" if isinstance(v, float) else str(v))
    return t


def _model_rows() -> list[dict]:
    rows = []
    for m in models.catalogue().values():
        long_ctx = 100_000   # KV growth per token once sliding windows are full
        kv_per_token = (memory.kv_bytes_per_seq(m, long_ctx + 1000, "bf16")
                        - memory.kv_bytes_per_seq(m, long_ctx, "bf16")) / 1000
        state = memory.kv_bytes_per_seq(m, 0, "bf16")   # fixed linear-attention state per sequence
        rows.append({"id": m.id, "name": m.name, "total_b": round(total_params(m) / 1e9, 1),
                     "published_total_b": m.published_total_params / 1e9,
                     "active_b": round(active_params(m) / 1e9, 1), "layers": m.n_layers,
                     "attention": m.attention, "kv_elements_per_token_layer": kv_elements_per_token_layer(m),
                     "kv_kb_per_token_bf16": round(float(kv_per_token) / 1e3, 1),
                     "state_mb_per_seq_bf16": round(float(state) / 1e6, 1),
                     "experts": f"{m.experts_per_token}/{m.n_experts}" if m.is_moe else "dense",
                     "weight_dtype": m.weight_dtype, "expert_dtype": m.expert_dtype,
                     "weight_gb": round(memory.weight_bytes(m, m.weight_dtype, m.expert_dtype) / GB, 1),
                     "sources": m.sources})
    return rows


def models_output(fmt: str):
    rows = _model_rows()
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "csv":
        return _csv(rows)
    t = Table(title="Model catalogue (parameters summed from each config.json; published totals beside)")
    cols = ("id", "total_b", "published_total_b", "active_b", "layers", "attention", "kv_kb_per_token_bf16",
            "state_mb_per_seq_bf16", "experts", "weight_dtype", "expert_dtype", "weight_gb")
    for col in cols:
        t.add_column(col, justify="left" if col == "id" else "right")
    for r in rows:
        t.add_row(*(f"{r[c]:g}" if isinstance(r[c], float) else str(r[c]) for c in cols))
    t.caption = "sources: `servecost models --format json` gives each model's sources"
    return t


def _num(x: float) -> str:
    return "-" if x == 0 else f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.4g}"


def _backing_note(options: list[dict]) -> str:
    """The '*' footnote: what backs each uncalibrated family's rows (published runs and their error)."""
    seen = {}
    for o in options:
        b = o.get("backing") or {}
        if not o["calibrated"] and b.get("runs"):
            seen.setdefault(b["evidence"], b)
    parts = [f"{e.removeprefix('published ').removesuffix(' measurements')} {b['runs']} ({b['median_error']:.0%}"
             + (f"; {b['engine']}'s host cost" if b.get("engine") else "") + ")" for e, b in seen.items()]
    return ("* no runs of its generation in the calibration data: its family's published measurements back it "
            "and widen its band (rows, held-out median error: " + ", ".join(parts) + "; benchmarks/accuracy.py)\n")


def _hardware_rows() -> list[dict]:
    from .economics import Assumptions, chip_usd_per_hr

    own = Assumptions()
    return [{"id": h.id, "name": h.name, "vendor": h.vendor, "family": h.family, "status": h.status,
             "year": h.release_year,
             "bf16_tflops": h.bf16_flops_per_s / 1e12, "fp8_tflops": h.fp8_flops_per_s / 1e12,
             "fp4_tflops": h.fp4_flops_per_s / 1e12, "mem_gib": h.mem_capacity_bytes / GiB,
             "mem_tb_per_s": h.mem_bytes_per_s / 1e12, "serves_from_sram": h.serves_from_sram,
             "scaleup_chips": h.scaleup_domain_chips, "scaleup_gb_per_s": h.scaleup_bytes_per_s / GB,
             "topology": h.topology, "tdp_w": h.tdp_w, "idle_w": h.idle_w,
             "wall_idle_w": h.idle_wall_w, "wall_load_w": h.load_w, "capex_usd": h.capex_usd,
             "capex_basis": h.capex_basis,
             # all-in own cost per chip-hour at load power, with plan's default assumptions
             "own_usd_per_hr": float(chip_usd_per_hr(h, h.load_w, own)), "cloud_usd_per_hr": h.cloud_usd_per_hr,
             "sources": h.sources, "estimates": h.estimates}
            for h in hardware.known().values()]


def hardware_output(fmt: str):
    rows = _hardware_rows()
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "csv":
        return _csv(rows)
    cols = ("id", "vendor", "status", "year", "bf16_tflops", "fp8_tflops", "fp4_tflops", "mem_gib", "mem_tb_per_s",
            "scaleup_chips", "scaleup_gb_per_s", "wall_load_w", "capex_usd", "own_usd_per_hr", "cloud_usd_per_hr")
    t = Table(title="Hardware catalogue (per chip; dense peaks; memory as the device reports it, the tiers that "
                    "serve weights; wall power: the chip's share of its system's)")
    for c in cols:
        t.add_column(c, justify="left" if c in ("id", "vendor", "status") else "right")
    for r in rows:
        t.add_row(*(_num(r[c]) if isinstance(r[c], float) else str(r[c]) for c in cols))
    t.caption = ("own_usd_per_hr: owner's all-in cost per chip-hour at load (capex annuity over 3 years at 8%, "
                 "facility, energy at $0.08/kWh x PUE 1.2, other opex); cloud_usd_per_hr: a rental price, sourced "
                 "apart. Sources and labelled estimates: `servecost hardware --format json`")
    return t


def _pct(x) -> str:
    """A fraction as a whole percentage ('-' for none), never '-0%'."""
    text = "-" if x is None else f"{100 * x:.0f}%"
    return "0%" if text == "-0%" else text


def validate_output(result: dict, fmt: str):
    if fmt == "json":
        return json.dumps(result, indent=2, default=float)
    if fmt == "csv":
        return _csv(result["results"])
    t = Table(title=f"validate: {result['predicted']} of {result['rows']} runs predicted, "
                    f"{len(result['skipped'])} skipped", title_justify="left")
    for col in ("group", "metric", "runs", "median APE", "MAPE", "p90 APE", "median signed error"):
        t.add_column(col, justify="left" if col == "group" else "right")
    rows = [{"by": "all", "value": "", "metric": k} | v for k, v in result["summary"].items()] + result["groups"]
    for g in rows:
        t.add_row(f"{g['by']}={g['value']}" if g["value"] != "" else "all", g["metric"], str(g["n"]),
                  _pct(g["median_ape"]), _pct(g["mape"]), _pct(g["p90_ape"]), _pct(g.get("median_signed_error")))
    for metric, g in result.get("assumed", {}).get("summary", {}).items():
        t.add_row("assumed (below)", metric, str(g["n"]), _pct(g["median_ape"]), _pct(g["mape"]),
                  _pct(g["p90_ape"]), _pct(g.get("median_signed_error")))
    reasons = Counter(s["reason"] for s in result["skipped"])
    t.caption = ("skipped: " + "; ".join(f"{n} x {r}" for r, n in reasons.items()) if reasons else "skipped: none") \
        + (f"\npredicted under an assumption, apart: {result['assumed']['rows']} runs: {result['assumed']['assumption']}"
           if result.get("assumed", {}).get("rows") else "")
    t.caption_justify = "left"
    return t


def frontier_output(data: dict, fmt: str):
    if fmt == "json":
        return json.dumps(data, indent=2)
    rows = [{"hardware": c["hardware"], "metric": metric} | p
            for c in data["curves"] for metric, pts in c["points"].items() for p in pts]
    if fmt == "csv":
        return _csv(rows)
    t = Table(title="Frontier: the best output tokens/s per chip at each speed (selected points; --format json "
                    "for all, -o/--png for charts)", title_justify="left")
    for col in ("hardware", "tok/s/user", "tok/s/chip", "tok/s/MW", "$/Mtok", "TTFT s", "deployment"):
        t.add_column(col, justify="left" if col in ("hardware", "deployment") else "right")
    for c in data["curves"]:
        pts = c["points"]["per_chip"]
        for p in _spread(pts, 4):
            t.add_row(c["hardware"], f"{p['tokens_per_s_per_user']:,.1f}", f"{p['per_chip']:,.0f}",
                      f"{p['per_mw'] / 1e6:,.2f}M", f"${p['usd_per_mtok']:,.3f}", f"{p['ttft_s']:.2f}",
                      f"{p['chips_per_replica']} chips {p['tp']}/{p['dp_attn']}/{p['pp']}/{p['ep']} b{p['batch']} "
                      + ("disagg" if p["mode"] == "disaggregated" else "agg")
                      + (f" mtp{p['draft_tokens']}" if p["draft_tokens"] else "")
                      + f" {p['weight_dtype']}/{p['expert_dtype']} kv:{p['kv_dtype']}")
    return t


def _spread(points: list, n: int) -> list:
    """n points spread along a curve (its ends included)."""
    if len(points) <= n:
        return points
    idx = sorted({round(i * (len(points) - 1) / (n - 1)) for i in range(n)})
    return [points[i] for i in idx]


def _duration(seconds: float) -> str:
    """Seconds as s, min or h, whichever shows a nonzero number."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def batch_output(tiers: list, sc, a, deadline_hours: float, peak_to_mean: float, fmt: str,
                 unserved: dict | None = None):
    """The batch tiers as json, csv or a table; `unserved`: hardware id -> why it has no tier."""
    from .studies.batch import justified
    unserved = unserved or {}
    rows = [t.as_dict() for t in sorted(tiers, key=lambda t: t.batch_usd_per_mtok)]
    just = justified(tiers)
    cheapest = just["cheapest_interactive"]
    for r in rows:
        r["discount_vs_cheapest_interactive_frac"] = 1 - r["batch_usd_per_mtok"] / cheapest["usd_per_mtok"]
    if fmt == "json":
        return json.dumps({"scenario": sc.as_dict(), "assumptions": a.as_dict(), "deadline_hours": deadline_hours,
                           "peak_to_mean": peak_to_mean, "customary_discount_frac": 0.5, "tiers": rows,
                           **just, "unserved": unserved}, indent=2)
    if fmt == "csv":
        return _csv(rows)
    t = Table(title=f"Batch tier ({deadline_hours:g} h deadline) vs interactive ({sc.speed_tokens_per_s:g} tok/s/user); "
                    f"customary batch discount: 50%", title_justify="left")
    for col in ("hardware", "interactive $/Mtok", "batch $/Mtok", "justified discount", "vs cheapest interactive",
                "trough $/Mtok", "trough discount", "trough Mtok/day/chip", "batch deployment"):
        t.add_column(col, justify="left" if col in ("hardware", "batch deployment") else "right")
    for r in rows:
        d = r["batch_deployment"]
        t.add_row(r["hardware"], f"${r['interactive_usd_per_mtok']:.3f}", f"${r['batch_usd_per_mtok']:.3f}",
                  _pct(r['dedicated_discount_frac']), _pct(r['discount_vs_cheapest_interactive_frac']),
                  f"${r['trough_usd_per_mtok']:.4f}",
                  _pct(r['trough_discount_frac']), f"{r['trough_mtok_per_day_per_chip']:,.1f}",
                  f"{d['chips_per_replica']} chips b{d['batch']} {d['tokens_per_s_per_user']:.1f} tok/s/user, "
                  f"E2E {_duration(d['e2e_s'])}")
    if cheapest is None:   # no accelerator serves the interactive speed: say so, with each one's reason
        t.caption = "no accelerator in the table: " + "; ".join(f"{hw}: {why}" for hw, why in unserved.items())
        t.caption_justify = "left"
        return t
    t.caption = (f"justified discount = 1 - batch / interactive $/Mtok. Dedicated: the cheapest deployment whose "
                 f"requests finish in {deadline_hours:g} h. Trough: the interactive fleet's idle capacity "
                 f"(1 - 1/{peak_to_mean:g} of it at mean load) priced at its extra energy only. vs cheapest "
                 f"interactive: 1 - batch / {cheapest['hardware']}'s ${cheapest['usd_per_mtok']:.3f}.\nper family "
                 "(its cheapest batch vs its cheapest interactive): "
                 + "; ".join(f"{f['family']} {f['discount_frac']:.0%} ({f['batch_hardware']} vs "
                             f"{f['interactive_hardware']})" for f in just["by_family"])
                 + "".join(f"\nnot in the table: {hw}: {why}" for hw, why in unserved.items()))
    t.caption_justify = "left"
    return t


def power_output(table: dict, speeds: list, budget_mw: float, model_name: str, fmt: str):
    if fmt == "json":
        return json.dumps({"budget_mw": budget_mw, "speeds_tokens_per_s_per_user": speeds, "hardware": table},
                          indent=2)
    rows = [{"hardware": h, "speed": s, "users": v["users"][i], "tokens_per_s_per_mw": v["tokens_per_s_per_mw"][i]}
            for h, v in table.items() for i, s in enumerate(speeds)]
    if fmt == "csv":
        return _csv(rows)
    t = Table(title=f"{model_name}: users served by {budget_mw:g} MW of provisioned facility power, by speed per user",
              title_justify="left")
    t.add_column("hardware")
    for s in speeds:
        t.add_column(f"{s:g} tok/s", justify="right")
    best = {i: max(table, key=lambda h: table[h]["users"][i]) for i in range(len(speeds))}
    for h, v in sorted(table.items(), key=lambda kv: -max(kv[1]["users"])):
        cells = []
        for i, users in enumerate(v["users"]):
            text = "-" if users == 0 else f"{users:,.0f}" if users < 1e6 else f"{users / 1e6:,.2f}M"
            cells.append(f"[bold green]{text}[/bold green]" if best[i] == h and users > 0 else text)
        t.add_row(h, *cells)
    t.caption = "green: the accelerator that serves the most users at that speed; '-': speed out of reach"
    t.caption_justify = "left"
    return t


def outlook_output(data: dict, fmt: str):
    if fmt == "json":
        return json.dumps(data, indent=2)
    rows = [{"hardware": r["hardware"], **c} for r in data["hardware"] for c in r["years"]]
    if fmt == "csv":
        return _csv(rows)
    t = Table(title=f"Outlook: $/Mtok output at {data['speed_tokens_per_s']:g} tok/s/user, year by year "
                    "(residual value of the hardware in brackets)", title_justify="left")
    t.add_column("hardware")
    for y in data["roster"]:
        t.add_column(f"year {y['year']}: {y['name']}\n{y['total_params'] / 1e12:.1f}T, {y['input_tokens']:,} in",
                     justify="right")
    for r in data["hardware"]:
        cells = []
        for c in r["years"]:
            best = data["cheapest"].get(c["year"]) == r["hardware"]
            text = (f"${c['usd_per_mtok_output']:,.2f}" if c["usd_per_mtok_output"] else
                    "no fit" if "does not fit" in (c["reason"] or "") else "too slow")
            text += f" [dim]({_money(c['residual_value_usd'])})[/dim]"
            cells.append(f"[bold green]{text}[/bold green]" if best else text)
        t.add_row(r["hardware"], *cells)
    lines = [f"year {y['year']}: {y['why']}" + (f" (prefix cache {y['prefix_cache_hit_frac']:.0%})"
                                                if y.get("prefix_cache_hit_frac") else "") for y in data["roster"]]
    lines.append("(resale value per chip from its family's used-price curve, servecost.resale)")
    for st in data.get("strategies", []):
        years = ", ".join(f"y{r['year']} {r['hardware']} " + (f"${r['usd_per_mtok']:,.2f}" if r["usd_per_mtok"]
                                                              else "-") for r in st["years"])
        total = f"${st['total_usd_per_mtok']:,.2f}/Mtok" if st["total_usd_per_mtok"] else "cannot serve every year"
        lines.append(f"strategy {st['name']}: {total} over the horizon ({years}): {st['description']}")
    t.caption = "\n".join(lines)
    t.caption_justify = "left"
    return t
