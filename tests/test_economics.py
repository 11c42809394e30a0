"""Cost arithmetic worked by hand, and its monotone properties."""



import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servecost import bands, economics, hardware, models
from servecost.studies.batch import batch_tier, deadline_curve
from servecost.economics import Assumptions
from servecost.studies.montecarlo import Ranges, summary, usd_per_mtok_samples
from servecost.plan import Scenario, search_points
from servecost.studies.powercap import users_at_speeds
from servecost.profiles import shipped


def test_capex_amortisation_by_hand(h100):
    """$33,750 (chip + system share) at 8% over 3 years: annuity 0.08 / (1 - 1.08^-3) = 0.38803 per
    year -> $13,096/yr -> / 8,766 h = $1.494/h."""
    a = Assumptions()
    assert economics.annuity_frac(0.08, 3) == pytest.approx(0.388034, rel=1e-5)
    capex = economics.chip_cost_usd_per_hr(h100, 700.0, a)["capex"]
    assert capex == pytest.approx(33_750 * 0.388034 / 8766, rel=1e-4)
    assert economics.annuity_frac(0.0, 4) == 0.25


def test_energy_cost_by_hand(h100):
    """700 W x PUE 1.2 = 0.84 kW x $0.08/kWh = $0.0672 per chip-hour."""
    energy = economics.chip_cost_usd_per_hr(h100, 700.0, Assumptions())["energy"]
    assert float(energy) == pytest.approx(0.0672)


def test_usd_per_mtok_by_hand():
    """$10/h producing 1,000 tok/s = 3.6 Mtok/h -> $2.78/Mtok; at half load $5.56."""
    assert economics.usd_per_mtok(10.0, 1000.0, Assumptions()) == pytest.approx(10 / 3.6)
    assert economics.usd_per_mtok(10.0, 1000.0, Assumptions(load_frac=0.5)) == pytest.approx(20 / 3.6)


@settings(max_examples=40, deadline=None)
@given(kwh=st.floats(0.0, 0.5), cheaper=st.floats(0.0, 1.0), power_w=st.floats(50, 1500))
def test_cheaper_power_never_raises_cost(kwh, cheaper, power_w):
    hw = hardware.get("b200")
    dear = economics.chip_usd_per_hr(hw, power_w, Assumptions(usd_per_kwh=kwh))
    cheap = economics.chip_usd_per_hr(hw, power_w, Assumptions(usd_per_kwh=kwh * cheaper))
    assert cheap <= dear + 1e-12


@pytest.fixture(scope="module")
def kimi_points():
    m, hw = models.get("kimi-k2"), hardware.get("b200")
    sc = Scenario(hardware=("b200",))
    return m, hw, sc, search_points(m, hw, sc, Assumptions(), shipped().default)


def test_looser_deadline_never_raises_batch_cost(kimi_points):
    _, _, sc, pts = kimi_points
    costs = deadline_curve(pts, sc.output_tokens, np.geomspace(30, 86_400, 30))
    finite = costs[np.isfinite(costs)]
    assert finite.size and np.all(np.diff(finite) <= 1e-12)


def test_justified_discount_by_hand(kimi_points):
    """discount = 1 - batch / interactive; trough work pays only the energy above idle."""
    m, hw, sc, pts = kimi_points
    tier = batch_tier(m, hw, pts, sc, Assumptions(), 24 * 3600, 2.0)
    assert tier.dedicated_discount_frac == pytest.approx(1 - tier.batch_usd_per_mtok / tier.interactive_usd_per_mtok)
    assert tier.batch_usd_per_mtok <= tier.interactive_usd_per_mtok
    assert 0 < tier.trough_usd_per_mtok < tier.batch_usd_per_mtok


@settings(max_examples=20, deadline=None)
@given(budget=st.floats(0.1, 1000), more=st.floats(1.0, 10.0))
def test_bigger_power_budget_never_serves_fewer_users(kimi_points, budget, more):
    _, hw, _, pts = kimi_points
    speeds = [10, 50, 100]
    small, _ = users_at_speeds(pts, Assumptions(), budget, speeds, hw)
    large, _ = users_at_speeds(pts, Assumptions(), budget * more, speeds, hw)
    assert np.all(large >= small)


def test_monte_carlo_brackets_the_point_estimate():
    breakdown = {"capex_usd_per_hour": 60.0, "facility_usd_per_hour": 10.0, "energy_usd_per_hour": 20.0,
                 "other_usd_per_hour": 10.0}
    point = economics.usd_per_mtok(100.0, 50_000.0, Assumptions())
    s = summary(usd_per_mtok_samples(breakdown, 0.08, 50_000.0, Ranges(load_frac=(1.0, 1.0)), 20_000))
    assert s["p05"] < point < s["p95"] and s["samples"] == 20_000
    fixed = Ranges(price_frac=(1, 1), usd_per_kwh=(0.08, 0.08), load_frac=(1, 1))
    spread = summary(usd_per_mtok_samples(breakdown, 0.08, 50_000.0, fixed, 20_000))
    tpot = bands.quantiles()["tpot"]
    assert spread["p95"] / spread["p05"] == pytest.approx(np.exp(tpot["log_ratio_p95"] - tpot["log_ratio_p05"]),
                                                          rel=0.1)   # the TPOT band only


def test_power_cli_and_batch_cli(capsys):
    from servecost.cli import main
    import json
    for argv in (["power", "--budget-mw", "10", "--hardware", "b200", "--format", "json"],
                 ["batch-discount", "--hardware", "b200", "--format", "json"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
            raise SystemExit(0)
        assert exc.value.code == 0
        json.loads(capsys.readouterr().out)
    with pytest.raises(SystemExit) as exc:
        main(["power", "--speeds", "10,fast"])
    assert exc.value.code == 2 and "speeds" in capsys.readouterr().err





def test_usage_by_hand():
    """10M daily users x 3 sessions x 5 requests = 150M requests/day; each streams 500 tokens at
    50 tok/s = 10 s, so 150M x 10 / 86,400 = 17,361 streams on average, 34,722 at a 2x peak."""
    from servecost.studies.usage import Usage
    u = Usage(10_000_000)
    assert u.requests_per_day() == 150_000_000
    assert u.peak_streams(500, 50) == 34_723   # ceil(34,722.2)
    assert u.load_frac == 0.5


def test_outlook_roster_and_costs():
    from servecost.studies.outlook import outlook, roster
    years = roster()
    from servecost.params import total_params
    assert [y.year for y in years] == [0, 1, 2, 3]
    assert total_params(years[1].model) == pytest.approx(2 * total_params(years[0].model), rel=0.02)
    data = outlook(years[:2], 50, ("gb200-nvl72", "groq-lpu"))
    gb200 = next(r for r in data["hardware"] if r["hardware"] == "gb200-nvl72")
    assert all(c["usd_per_mtok_output"] for c in gb200["years"])
    assert gb200["years"][1]["residual_value_usd"] < gb200["years"][0]["residual_value_usd"]
    assert data["cheapest"][0] == "gb200-nvl72"


def test_roster_with_unknown_field_is_an_input_error(tmp_path):
    from servecost.errors import InputError
    from servecost.studies.outlook import roster
    path = tmp_path / "r.yaml"
    path.write_text("years:\n  - {year: 1, name: x, base: kimi-k2, changes: {n_expert: 9}}\n")
    with pytest.raises(InputError, match="n_expert"):
        roster(path)


def test_resale_curve_by_family():
    """GPUs keep value on the used market (A100s still trade), TPUs have none, every chip retires."""
    from servecost.resale import holding_usd, value_frac
    assert value_frac("gpu", 0) == 1 and value_frac("gpu", 1) == pytest.approx(0.625)
    assert value_frac("gpu", 5.5) > 0 and value_frac("gpu", 7) == 0
    assert value_frac("tpu", 1) == 0
    assert float(holding_usd(40_000, "gpu", 0, 0.08)) == pytest.approx(40_000 * (1 - 0.625 + 0.08))


def test_outlook_strategies_buy_an_announced_chip_when_it_arrives(monkeypatch):
    """A chip released in year 1 is a candidate from year 1: 'best' buys it, 'keep' stays on today's."""
    from dataclasses import replace

    from servecost import hardware
    from servecost.studies.outlook import BASE_YEAR, outlook, roster
    gb200 = hardware.get("gb200-nvl72")
    # 3x every rate (a 50 tok/s step is partly fixed costs, so 2x gave only 1.37x fewer chips: too little to
    # pay for selling the year-0 fleet below its book value)
    future = replace(gb200, id="next-gen", release_year=BASE_YEAR + 1, hbm_bytes_per_s=3 * gb200.hbm_bytes_per_s,
                     bf16_flops_per_s=3 * gb200.bf16_flops_per_s, fp8_flops_per_s=3 * gb200.fp8_flops_per_s,
                     fp4_flops_per_s=3 * gb200.fp4_flops_per_s, mamf_flops_per_s=3 * gb200.mamf_flops_per_s)
    monkeypatch.setitem(hardware.catalogue(), "next-gen", future)
    data = outlook(roster()[:2], 50, ("gb200-nvl72", "next-gen"))
    keep, best = data["strategies"]
    assert data["cheapest"][0] == "gb200-nvl72" and data["cheapest"][1] == "next-gen"
    assert [r["hardware"] for r in keep["years"]] == ["gb200-nvl72"] * 2
    assert [r["hardware"] for r in best["years"]] == ["gb200-nvl72", "next-gen"]
    assert best["years"][1]["sold_chips"] == best["years"][0]["chips"]
    for st in (keep, best):
        assert st["total_usd_per_mtok"] == pytest.approx(sum(r["usd"] for r in st["years"])
                                                         / sum(r["mtok"] for r in st["years"]))
    assert best["years"][1]["usd_per_mtok"] < keep["years"][1]["usd_per_mtok"]


def test_outlook_json_has_strategies(capsys):
    import json

    from servecost.cli import main
    main(["outlook", "--years", "1", "--hardware", "gb200-nvl72,b200", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert {s["name"] for s in data["strategies"]} == {"keep", "best"}
    assert all(s["total_usd_per_mtok"] > 0 for s in data["strategies"])


def test_a_chip_nobody_buys_used_keeps_its_book_value_while_kept_and_is_written_off_when_sold():
    """TPUs resell for nothing, but a kept TPU serves its lifetime: straight-line book value."""
    from servecost.resale import LIFETIME_YEARS, book_value_frac, value_frac, write_off_usd
    life = LIFETIME_YEARS["tpu"]
    assert book_value_frac("tpu", 1) == pytest.approx(1 - 1 / life)
    assert value_frac("tpu", 1) == 0.0
    assert write_off_usd(100.0, "tpu", 1) == pytest.approx(100 * (1 - 1 / life))
    assert write_off_usd(100.0, "gpu", 1) == pytest.approx(0.0)      # a GPU sells at its book value


def test_an_announced_chip_is_bought_from_next_year_at_the_earliest():
    from servecost import hardware
    from servecost.studies.outlook import BASE_YEAR, available_from
    announced = [h for h in hardware.known().values() if h.status == "announced"]
    assert announced and all(available_from(h, BASE_YEAR) > BASE_YEAR for h in announced)


def test_tokens_per_mw_is_per_chip_over_provisioned_wall_power():
    """tok/s/MW = (tok/s per chip) / (P_load x PUE) x 1e6: 1,000 tok/s on a 2 kW system at PUE 1.2 -> 416,667."""
    from servecost import hardware
    from servecost.economics import Assumptions, tokens_per_s_per_mw
    from dataclasses import replace
    hw = replace(hardware.get("b200"), system_load_w=2000.0)
    assert tokens_per_s_per_mw(1000.0, hw, Assumptions(pue=1.2)) == pytest.approx(1e9 / 2400)


def test_end_to_end_latency_counts_the_first_token_once():
    from servecost.serving import e2e_s
    assert e2e_s(0.5, 0.02, 101) == pytest.approx(0.5 + 100 * 0.02)


def test_batch_discount_names_the_chips_it_leaves_out(capsys):
    """A chip with no deployment at the interactive speed is listed with the reason, never dropped
    silently; with none left the table says so instead of failing."""
    from servecost.cli import main
    import json
    with pytest.raises(SystemExit) as exc:
        main(["batch-discount", "--hardware", "b200", "--speed", "5000", "--format", "json"])
        raise SystemExit(0)
    assert exc.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tiers"] == [] and "5000 tok/s per user" in out["unserved"]["b200"]
    with pytest.raises(SystemExit) as exc:
        main(["batch-discount", "--hardware", "b200", "--speed", "5000"])
        raise SystemExit(0)
    assert exc.value.code == 0 and "no accelerator in the table: b200" in capsys.readouterr().out


def test_batch_chart_names_the_chips_it_leaves_out(tmp_path):
    """The chart of an empty batch tier says so and names each chip left out, instead of a bare frame."""
    from servecost import charts
    path = tmp_path / "batch.png"
    charts.batch_png({}, np.array([3600.0, 7200.0]), "t", path, {"b200": "no deployment serves 5000 tok/s per user"})
    assert path.stat().st_size > 0
