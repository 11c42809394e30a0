"""Frontier properties: Pareto-optimal points, monotone in bandwidth, disaggregation where it must win,
speculation that cannot help when nothing is accepted."""

import re
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servecost import hardware, models
from servecost.economics import Assumptions
from servecost.frontier import METRICS, curve_indices, frontier, metric_values
from servecost.parallel import Parallel
from servecost.plan import Scenario, search_points
from servecost.profiles import shipped
from servecost.roofline import Precision
from servecost.search import pareto_mask
from servecost.serving import aggregated, disaggregated
from servecost.speculative import NONE, Speculation


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 1e3), st.floats(0.1, 1e3)), min_size=1, max_size=60))
def test_pareto_mask_keeps_exactly_the_undominated(points):
    x, y = np.array(points).T
    keep = pareto_mask(x, y)
    for i in range(len(x)):
        dominated = np.any((x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i])))
        duplicate_kept_earlier = np.any(keep & (x == x[i]) & (y == y[i]) & (np.arange(len(x)) != i))
        assert keep[i] == (not dominated and not (duplicate_kept_earlier and not keep[i]))
    assert keep.any()


@pytest.fixture(scope="module")
def r1_curves():
    return frontier(Scenario(model="deepseek-r1", hardware=("h200-sxm", "b200", "mi355x", "tpu-v6e")), speed=50)


def test_no_point_on_a_curve_is_dominated(r1_curves):
    for c in r1_curves:
        for metric, (_, _, higher) in METRICS.items():
            pts = c.points[metric]
            x = np.array([p["tokens_per_s_per_user"] for p in pts])
            y = np.array([p[metric] for p in pts]) * (1 if higher else -1)
            for i in range(len(x)):
                assert not np.any((x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i])))


def test_plan_point_lies_on_or_under_the_curve(r1_curves):
    """plan picks from the same search: its point is never above the per-chip frontier."""
    for c in r1_curves:
        o = c.plan_point
        better = [p["per_chip"] for p in c.points["per_chip"] if p["tokens_per_s_per_user"] >= o.tokens_per_s_per_user]
        assert max(better) >= o.output_tokens_per_s_per_chip * (1 - 1e-9)


def _best_at(points, x_min):
    ys = [p["per_chip"] for p in points if p["tokens_per_s_per_user"] >= x_min]
    return max(ys) if ys else 0.0


@pytest.mark.parametrize("hw_id", ["h100-sxm", "mi300x"])
def test_more_bandwidth_never_moves_the_curve_down(hw_id):
    m, hw, a = models.get("llama-3.1-70b"), hardware.get(hw_id), Assumptions()
    sc = Scenario(model="llama-3.1-70b", precisions="native")
    eff = shipped().default

    def curve(h):
        pts = search_points(m, h, sc, a, eff)
        idx = curve_indices(pts, metric_values(pts, a, h))["per_chip"]
        return [{"tokens_per_s_per_user": pts.tokens_per_s_per_user[i],
                 "per_chip": pts.output_tokens_per_s_per_chip[i]} for i in idx]

    base, faster = curve(hw), curve(replace(hw, hbm_bytes_per_s=hw.hbm_bytes_per_s * 1.5))
    for p in base:
        assert _best_at(faster, p["tokens_per_s_per_user"]) >= p["per_chip"] * (1 - 1e-9)


def _best_per_chip(sc, speed):
    m, hw = models.get(sc.model), hardware.get(sc.hardware[0])
    p = search_points(m, hw, sc, Assumptions(), shipped().default)
    ok = p.fits & (p.tokens_per_s_per_user >= speed)
    return float(np.max(np.where(ok, p.output_tokens_per_s_per_chip, 0.0)))


@pytest.mark.parametrize("speed", [80, 100])
def test_disaggregation_wins_where_prefill_interference_dominates(speed):
    """Hand-worked: Llama-3.1-8B on H100, 8,000-token prompts, 50-token answers, >= 80 tok/s/user
    (TPOT <= 12.5 ms). One prompt's prefill is 2 x 8,000 x 7.5e9 = 120 TFLOP, ~0.14 s. Aggregated,
    B requests start B/50 prefills per step, so B/50 x 0.14 s must fit in the ~5 ms a step has left
    after its own decode: B <= ~2 on one chip, ~2 x 80 = 160 tok/s, no better with TP. Disaggregated,
    the decode step holds B ~ 20-30 (weights 15 GB + KV 1 GB per sequence in ~12 ms), ~2,000 tok/s
    per decode chip, and the prefill pool needs 25 / (50 x 12.5 ms) x 0.14 s ~ 5-6 chips per decode
    chip: ~300 tok/s per chip. Disaggregation must come out well ahead (>= 25%)."""
    base = Scenario(model="llama-3.1-8b", input_tokens=8000, output_tokens=50, precisions="native",
                    hardware=("h100-sxm",))
    agg_only = _best_per_chip(replace(base, disaggregation=False), speed)
    with_disagg = _best_per_chip(base, speed)
    assert agg_only > 0 and with_disagg > 1.25 * agg_only


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 4), batch=st.integers(1, 256), context=st.integers(100, 8000),
       model_id=st.sampled_from(["deepseek-v3", "llama-3.1-70b", "gpt-oss-120b"]), disagg=st.booleans())
def test_speculation_with_zero_acceptance_never_helps(k, batch, context, model_id, disagg):
    m, hw = models.get(model_id), hardware.get("h200-sxm")
    par = Parallel(tp=8 if m.attention == "gqa" else 1, dp_attn=1 if m.attention == "gqa" else 8, ep=8 if m.is_moe else 1)
    prec, eff = Precision.native(m), shipped().default
    serve = disaggregated if disagg else aggregated
    plain = serve(m, hw, par, prec, batch, context, 200, eff, NONE)
    spec = serve(m, hw, par, prec, batch, context, 200, eff, Speculation(k, 0.0))
    assert float(spec.tpot_s) >= float(plain.tpot_s)
    assert float(spec.output_tokens_per_s) <= float(plain.output_tokens_per_s)


def test_expected_tokens_per_step():
    assert Speculation(1, 0.85).tokens_per_step == pytest.approx(1.85)
    assert Speculation(3, 0.5).tokens_per_step == pytest.approx(1 + 0.5 + 0.25 + 0.125)
    assert Speculation(2, 1.0).tokens_per_step == 3


def test_cli_writes_offline_html_png_and_json(tmp_path, capsys):
    from servecost.cli import main
    html, png = tmp_path / "f.html", tmp_path / "f.png"
    with pytest.raises(SystemExit) as exc:
        main(["frontier", "--model", "llama-3.1-70b", "--hardware", "h100-sxm,mi300x", "--speed", "30",
              "-o", str(html), "--png", str(png), "--format", "json"])
        raise SystemExit(0)
    assert exc.value.code == 0
    import json
    data = json.loads(capsys.readouterr().out)
    assert {c["hardware"] for c in data["curves"]} == {"h100-sxm", "mi300x"}
    assert all(c["points"]["per_chip"] and c["plan_point"] for c in data["curves"])
    page = html.read_text()
    assert "plotly" in page.lower() and len(page) > 1_000_000   # plotly.js inline
    assert not re.search(r"<script[^>]+src=\"https?:", page)    # no script fetched from the network
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_rejects_bad_speed(capsys):
    from servecost.cli import main
    with pytest.raises(SystemExit) as exc:
        main(["frontier", "--speed", "-3"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "speed" in err and len(err.strip().splitlines()) == 1
