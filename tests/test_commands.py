"""The command layer: one request model per command for the CLI and the API, typed results."""

import json
from dataclasses import fields
from importlib import resources

import numpy as np
import pytest

from servecost import commands, schema
from servecost.errors import InputError
from servecost.plan import Infeasible, Option, Scenario, plan
from servecost.search import Deployment

SMALL = {"model": "llama-3.1-8b", "users": 1000, "speed": 30, "hardware": ["h100-sxm", "mi300x"]}


def test_a_pasted_config_plans_as_its_catalogue_entry():
    """A config.json pasted into the request resolves to a ModelSpec once: the same options as the id
    (without speculation: an EAGLE-3 head is known by catalogue id)."""
    config = json.loads(resources.files("servecost").joinpath("data/configs/llama-3.1-8b.json").read_text())
    plain = SMALL | {"speculation_method": "none"}
    by_id = commands.plan(schema.validate(schema.PlanRequest, **plain))
    pasted = commands.plan(schema.validate(schema.PlanRequest, **(plain | {"config": config})))
    assert pasted.scenario["model"] == "custom"
    assert [o.chips for o in pasted.options] == [o.chips for o in by_id.options]


def test_a_path_is_a_model_only_from_the_command_line(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(resources.files("servecost").joinpath("data/configs/llama-3.1-8b.json").read_text())
    with pytest.raises(InputError, match="not a catalogue id"):
        schema.validate(schema.PlanRequest, model=str(path))
    req = schema.validate(schema.PlanRequest, {"cli": True}, model=str(path))
    assert req.spec().n_layers == 32


def test_a_workload_presets_what_the_request_leaves_out():
    req = schema.validate(schema.PlanRequest, workload="agentic", output_tokens=300)
    assert req.input_tokens == 80_000 and req.output_tokens == 300 and req.prefix_cache_hit == pytest.approx(0.942)


def test_monte_carlo_samples_are_bounded_per_boundary():
    with pytest.raises(InputError, match="monte_carlo"):
        schema.validate(schema.PlanRequest, monte_carlo=1_000_000)
    assert schema.validate(schema.PlanRequest, {"cli": True}, monte_carlo=1_000_000).monte_carlo == 1_000_000


def test_plan_returns_typed_options_whose_dict_is_the_json():
    result = commands.plan(schema.validate(schema.PlanRequest, **SMALL, monte_carlo=200))
    o = result.options[0]
    assert isinstance(o, Option) and isinstance(o.deployment, Deployment)
    d = o.as_dict()
    assert d["chips"] == o.chips and d["tp"] == o.deployment.tp and d["mode"] == o.deployment.mode
    assert d["usd_per_mtok_output_mc"]["samples"] == 200
    assert json.loads(json.dumps(result.as_dict()))["options"][0]["usd_per_mtok_output"] == o.usd_per_mtok_output


def test_infeasible_is_typed():
    result = plan(Scenario(model="llama-3.1-8b", users=10, speed_tokens_per_s=9000, hardware=("h100-sxm",)))
    assert result.options == [] and isinstance(result.infeasible[0], Infeasible)
    assert result.infeasible[0].max_tokens_per_s_per_user > 0


def test_the_same_deployment_at_another_batch_keeps_the_expert_dtype():
    """The trough of the batch tier runs the interactive deployment: its expert dtype and drafts too."""
    from servecost import hardware, models
    from servecost.efficiency import DEFAULT
    from servecost.economics import Assumptions
    from servecost.plan import search_points
    sc = Scenario(model="kimi-k2", users=10_000, hardware=("b200",), precisions="all")
    pts = search_points(models.get("kimi-k2"), hardware.get("b200"), sc, Assumptions(), DEFAULT)
    i = int(np.flatnonzero(pts.fits)[0])
    d = Deployment.at(pts, i)
    same = d.same_but_batch(pts)
    assert same[i] and set(pts.expert_dtype[same]) == {d.expert_dtype}
    assert len(set(pts.expert_dtype[pts.fits])) > 1          # the search did hold other expert dtypes


def test_deployment_fields_are_the_layout_batch_dtypes_drafts_and_mode():
    assert {f.name for f in fields(Deployment)} == {
        "tp", "dp_attn", "pp", "ep", "chips_per_replica", "batch_per_replica", "disaggregated", "weight_dtype",
        "expert_dtype", "kv_dtype", "draft_tokens", "speculation"}
