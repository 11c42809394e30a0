"""`servecost plan` on the headline case: coverage, families, infeasible reasons."""

import pytest

from servecost.plan import Scenario, plan

FAMILIES = {"NVIDIA", "AMD", "Google", "Cerebras", "Groq", "AWS", "Intel", "SambaNova"}


@pytest.fixture(scope="module")
def headline():
    return plan(Scenario()).as_dict()


def test_headline_covers_every_hardware_family(headline):
    listed = {o["vendor"] for o in headline["options"]} | {r["vendor"] for r in headline["infeasible"]}
    assert FAMILIES <= listed
    assert len(headline["options"]) + len(headline["infeasible"]) >= 19


def test_fleet_covers_users_times_speed(headline):
    sc = headline["scenario"]
    for o in headline["options"]:
        assert o["chips"] * o["output_tokens_per_s_per_chip"] >= sc["users"] * sc["speed_tokens_per_s"] * (1 - 1e-9)
        assert o["tokens_per_s_per_user"] >= sc["speed_tokens_per_s"]
        assert o["replicas"] * o["batch_per_replica"] >= sc["users"]


def test_options_sorted_by_cost(headline):
    costs = [o["usd_per_mtok_output"] for o in headline["options"]]
    assert costs == sorted(costs)


def test_unreachable_speed_reports_the_best_speed():
    result = plan(Scenario(model="llama-3.1-405b", users=10, speed_tokens_per_s=5000,
                           hardware=("h100-sxm",))).as_dict()
    assert not result["options"]
    row = result["infeasible"][0]
    assert "speed unreachable" in row["reason"] and 0 < row["max_tokens_per_s_per_user"] < 5000


def test_model_that_cannot_fit_says_so():
    result = plan(Scenario(model="kimi-k2", users=10, speed_tokens_per_s=10, hardware=("groq-lpu",))).as_dict()
    assert result["options"] or "does not fit" in result["infeasible"][0]["reason"]


def test_cloud_pricing_uses_rental_rate():
    own = plan(Scenario(model="llama-3.1-8b", users=1000, hardware=("h100-sxm",))).as_dict()["options"][0]
    from servecost.economics import Assumptions
    cloud = plan(Scenario(model="llama-3.1-8b", users=1000, hardware=("h100-sxm",)),
                 Assumptions(pricing="cloud")).as_dict()["options"][0]
    assert cloud["usd_per_hour"] == pytest.approx(cloud["chips"] * 3.0)
    assert cloud["usd_per_mtok_output"] != own["usd_per_mtok_output"]


def test_calibrated_generations_are_those_with_measured_runs():
    from importlib import resources

    from servecost.profiles import CALIBRATED_GENERATIONS, generation
    from servecost.calibration.readers import read_aic_csv
    runs = read_aic_csv(str(resources.files("servecost").joinpath("data/calibration/aic_silicon_calibration.csv")))
    assert {generation(r.hardware) for r in runs if r.hardware} == CALIBRATED_GENERATIONS


def test_plan_marks_chips_without_measured_runs():
    from servecost.plan import Scenario, plan
    options = plan(Scenario(model="llama-3.1-8b", users=100, speed_tokens_per_s=30,
                            hardware=("h100-sxm", "mi300x"))).options
    assert {o.hardware: o.calibrated for o in options} == {"h100-sxm": True, "mi300x": False}


def test_every_row_prices_the_demanded_tokens(headline):
    """$/Mtok x the demanded Mtok/hour is the fleet's $/hour, on every row (one objective)."""
    sc = headline["scenario"]
    for o in headline["options"]:
        demanded_mtok_hr = sc["users"] * sc["speed_tokens_per_s"] * 3600 / 1e6
        assert o["usd_per_mtok_output"] * demanded_mtok_hr == pytest.approx(o["usd_per_hour"], rel=0.01)
        assert o["chips"] == o["decode_chips"] + o["prefill_chips"]


def test_kimi_on_b200_prefills_on_its_own_layout(headline):
    """Headline on B200: the prefill pool has its own worker and needs at most 60% of the decode chips."""
    b200 = next(o for o in headline["options"] if o["hardware"] == "b200")
    if b200["mode"] == "disaggregated":
        assert b200["prefill_chips"] <= 0.6 * b200["decode_chips"]
        p = b200["prefill"]
        assert p["chips_per_worker"] == p["tp"] * p["dp_attn"] * p["pp"] and p["budget_tokens"] > 0


def test_faster_option_is_not_credited_for_its_extra_speed():
    """Groq's pick runs faster than asked: its $/Mtok is its fleet $/hour over the tokens asked for."""
    o = plan(Scenario(hardware=("groq-lpu",))).options[0]
    assert o.speed_headroom_frac > 0
    assert o.usd_per_mtok_output == pytest.approx(o.usd_per_hour / (1e6 * 50 * 3600) * 1e6)


def test_cost_per_daily_user():
    """With daily users, $/user/month divides the fleet's month by the daily users, not the streams."""
    o = plan(Scenario(users=20_000, daily_users=100_000_000, hardware=("b200",))).options[0]
    assert o.usd_per_user_month_basis == "daily user"
    assert o.usd_per_user_month == pytest.approx(o.usd_per_hour * 730.5 / 100_000_000, rel=0.01)
    streams = plan(Scenario(users=20_000, hardware=("b200",))).options[0]
    assert streams.usd_per_user_month_basis == "concurrent stream"


def test_mixed_fleet_prefills_on_the_other_chip():
    """GPU prefill for LPU decode: priced with both chips, the KV hand-off over their network."""
    o = plan(Scenario(hardware=("groq-lpu",), prefill_hardware="h100-sxm")).options[0]
    assert o.deployment.mode == "disaggregated" and o.prefill.hardware == "h100-sxm" and o.prefill.mixed
    assert o.prefill_chips > 0
    from servecost import hardware
    from servecost.economics import Assumptions, chip_usd_per_hr
    h100 = hardware.get("h100-sxm")
    prefill_usd = o.prefill_chips * float(chip_usd_per_hr(h100, h100.tdp_w, Assumptions()))
    assert o.usd_per_hour > prefill_usd > 0


def test_prefix_cache_cuts_ttft_and_cost():
    """90% of a 50k-token prompt from the cache: shorter TTFT and a lower $/Mtok than no cache."""
    base = Scenario(users=10_000, input_tokens=50_000, output_tokens=500, hardware=("h200-sxm",))
    from dataclasses import replace
    cold = plan(base).options[0]
    warm = plan(replace(base, prefix_cache_hit_frac=0.9)).options[0]
    assert warm.ttft_s < cold.ttft_s and warm.usd_per_mtok_output < cold.usd_per_mtok_output


@pytest.mark.parametrize("args, field", [
    (["--prefix-cache-hit", "1.5"], "prefix_cache_hit"),
    (["--speculation", "medusa"], "speculation"),
    (["--prefill-hardware", "tiny-chip"], "prefill_hardware"),
])
def test_bad_serving_input_is_one_line_naming_the_field(args, field, capsys, monkeypatch):
    from dataclasses import replace

    from servecost import hardware
    from servecost.cli import main
    from servecost.units import GB
    tiny = replace(hardware.get("h100-sxm"), id="tiny-chip", hbm_bytes=0.01 * GB)   # 10 MB: no worker of Kimi K2 holds it
    monkeypatch.setitem(hardware.catalogue(), "tiny-chip", tiny)
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--hardware", "b200", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {field}=")
