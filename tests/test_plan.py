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
    from servecost.readers import read_aic_csv
    runs = read_aic_csv(str(resources.files("servecost").joinpath("data/calibration/aic_silicon_calibration.csv")))
    assert {generation(r.hardware) for r in runs if r.hardware} == CALIBRATED_GENERATIONS


def test_plan_marks_chips_without_measured_runs():
    from servecost.plan import Scenario, plan
    options = plan(Scenario(model="llama-3.1-8b", users=100, speed_tokens_per_s=30,
                            hardware=("h100-sxm", "mi300x"))).options
    assert {o["hardware"]: o["calibrated"] for o in options} == {"h100-sxm": True, "mi300x": False}
