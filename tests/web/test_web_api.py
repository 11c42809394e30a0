"""The HTTP API: each endpoint answers what the CLI's `--format json` (or csv) prints for the same
inputs; bad input is a 422 naming the field; bodies and uploads are bounded."""

import json
import subprocess
import sys
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from servecost.cli import main  # noqa: E402
from servecost.web import limits  # noqa: E402
from servecost.web.api import _answer  # noqa: E402
from servecost.web.app import STATIC, create_app  # noqa: E402

RUNS_CSV = ("model,hardware,engine,tp,concurrency,input_tokens,output_tokens,ttft_ms,tpot_ms\n"
            "llama-3.1-8b,h100-sxm,vllm,1,8,1024,128,60,7.5\n"
            "llama-3.1-70b,h100-sxm,vllm,4,32,2048,256,400,25\n"
            "llama-3.1-8b,no-such-chip,vllm,1,8,1024,128,60,7.5\n")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def cli(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
        raise SystemExit(0)
    out = capsys.readouterr()
    assert exc.value.code == 0, out.err
    return out.out


def test_catalogues_match_cli(client, capsys):
    for kind in ("models", "hardware"):
        assert client.get(f"/api/{kind}").json() == json.loads(cli(capsys, kind, "--format", "json"))


SAME_AS_CLI = [
    ("plan", {"model": "llama-3.1-70b", "users": 1000, "speed": 30, "hardware": ["h100-sxm", "mi300x", "groq-lpu"]},
     ["--model", "llama-3.1-70b", "--users", "1000", "--speed", "30", "--hardware", "h100-sxm,mi300x,groq-lpu"]),
    ("plan", {"model": "llama-3.1-8b", "users": 500, "hardware": ["h100-sxm"], "pricing": "cloud", "engine": "vllm",
              "daily_users": 100000, "precisions": "all", "usd_per_kwh": 0.12},
     ["--model", "llama-3.1-8b", "--users", "500", "--hardware", "h100-sxm", "--pricing", "cloud", "--engine", "vllm",
      "--daily-users", "100000", "--precisions", "all", "--usd-per-kwh", "0.12"]),
    ("frontier", {"model": "llama-3.1-8b", "hardware": ["h100-sxm", "b200"], "speed": 100},
     ["--model", "llama-3.1-8b", "--hardware", "h100-sxm,b200", "--speed", "100"]),
    ("batch-discount", {"model": "llama-3.1-70b", "hardware": ["h100-sxm", "tpu-v6e"], "deadline_hours": 6},
     ["--model", "llama-3.1-70b", "--hardware", "h100-sxm,tpu-v6e", "--deadline-hours", "6"]),
    ("power", {"model": "llama-3.1-70b", "hardware": ["h100-sxm", "mi300x"], "speeds": [20, 50], "budget_mw": 10},
     ["--model", "llama-3.1-70b", "--hardware", "h100-sxm,mi300x", "--speeds", "20,50", "--budget-mw", "10"]),
    ("outlook", {"years": 1, "hardware": ["b200", "tpu-v7"]}, ["--years", "1", "--hardware", "b200,tpu-v7"]),
    ("predict", {"model": "llama-3.1-8b", "hardware": "h100-sxm", "batch": 8, "context": 2048},
     ["--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--batch", "8", "--context", "2048"]),
    ("predict", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "phase": "prefill", "tp": 4, "seq": 4096},
     ["--model", "llama-3.1-70b", "--hardware", "h100-sxm", "--phase", "prefill", "--tp", "4", "--seq", "4096"]),
]


@pytest.mark.parametrize("command, body, argv", SAME_AS_CLI, ids=[c[0] for c in SAME_AS_CLI])
def test_same_json_as_cli(client, capsys, command, body, argv):
    r = client.post(f"/api/{command}", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == json.loads(cli(capsys, command, *argv, "--format", "json"))


def test_csv_as_cli(client, capsys):
    r = client.post("/api/plan?format=csv", json={"model": "llama-3.1-8b", "users": 100, "hardware": ["h100-sxm"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    expected = cli(capsys, "plan", "--model", "llama-3.1-8b", "--users", "100", "--hardware", "h100-sxm",
                   "--format", "csv")
    assert r.text.strip() == expected.strip()


def test_csv_with_infeasible_rows(client, capsys):
    r = client.post("/api/plan?format=csv", json={"speed": 200, "hardware": ["h100-sxm", "groq-lpu"]})
    lines = r.text.strip().splitlines()
    assert r.status_code == 200 and len(lines) == 3 and "speed unreachable" in lines[2]
    assert r.text == cli(capsys, "plan", "--speed", "200", "--hardware", "h100-sxm,groq-lpu", "--format", "csv")


def test_headline_plan_defaults(client):
    data = client.post("/api/plan", json={}).json()
    assert data["scenario"]["model"] == "kimi-k2" and data["scenario"]["users"] == 1_000_000
    assert len(data["options"]) + len(data["infeasible"]) == len(data["scenario"]["hardware"])
    costs = [o["usd_per_mtok_output"] for o in data["options"]]
    assert costs == sorted(costs)


def test_pasted_config_plans_like_the_catalogue_model(client):
    config = json.loads(resources.files("servecost").joinpath("data/configs/llama-3.1-8b.json").read_text())
    # a pasted config has no published EAGLE-3 head (the catalogue's Llama 3.1 8B has): compare plain decoding
    body = {"users": 1000, "speed": 40, "hardware": ["h100-sxm", "mi300x"], "speculation_method": "none"}
    custom = client.post("/api/plan", json=body | {"config": config}).json()
    catalogue = client.post("/api/plan", json=body | {"model": "llama-3.1-8b"}).json()
    assert custom["scenario"]["model"] == "custom" and custom["model"]["id"] == "custom"
    assert [o["usd_per_mtok_output"] for o in custom["options"]] == \
        pytest.approx([o["usd_per_mtok_output"] for o in catalogue["options"]])


@pytest.mark.parametrize("path, body, field", [
    ("plan", {"users": 0}, "users=0"),
    ("plan", {"speed": 20000}, "speed=20000"),
    ("plan", {"model": "kimi"}, "model='kimi' is not a catalogue id; did you mean kimi-k2"),
    ("plan", {"model": "/etc/passwd"}, "model='/etc/passwd' is not a catalogue id"),
    ("plan", {"hardware": ["h100"]}, "hardware='h100' is not in the catalogue; did you mean h100-sxm"),
    ("plan", {"hardware": ["h100-sxm"] * 40}, "hardware="),
    ("plan", {"weight_dtype": "fp7"}, "weight_dtype='fp7' is not a known dtype"),
    ("plan", {"pricing": "lease"}, "pricing='lease'"),
    ("plan", {"monte_carlo": 5}, "monte_carlo=5"),
    ("plan", {"price_range": [2, 1]}, "price_range=[2.0, 1.0]"),
    ("plan", {"colour": "red"}, "colour='red': extra inputs are not permitted"),
    ("plan", {"config": {"hidden_size": 4096}}, "config (pasted): missing key 'num_hidden_layers'"),
    ("plan", {"config": {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 8, "vocab_size": -10}},
     "config (pasted): vocab_size=-10 must be a whole number from 1 to 10,000,000"),
    ("plan", {"config": {"num_hidden_layers": 1e300}}, "num_hidden_layers=1e+300 must be a whole number from 1 to 10,000"),
    ("plan", {"config": {"x": json.loads("[" * 40 + "]" * 40)}}, "config nests objects or lists over 16 deep"),
    ("plan", {"prefix_cache_hit": 1.5}, "prefix_cache_hit=1.5"),
    ("plan", {"speculation_method": "medusa"}, "speculation_method='medusa'"),
    ("plan", {"prefill_hardware": "h100"}, "prefill_hardware='h100' is not in the catalogue"),
    ("plan", {"speculation_method": "mtp1"}, "speculation=mtp1: kimi-k2 ships no MTP heads"),
    ("frontier", {"input_tokens": 0}, "input_tokens=0"),
    ("power", {"speeds": []}, "speeds=[]"),
    ("batch-discount", {"deadline_hours": -1}, "deadline_hours=-1"),
    ("outlook", {"years": 99}, "years=99"),
    ("predict", {"model": "llama-3.1-8b"}, "hardware: required"),
    ("predict", {"model": "llama-3.1-8b", "hardware": "h100-sxm", "batch": 100000, "context": 100000},
     "batch=100000 at 100000 tokens needs"),
    ("predict", {"model": "kimi-k2", "hardware": "b200", "tp": 1, "context": 0}, "the weights need"),
])
def test_bad_input_is_422_naming_the_field(client, path, body, field):
    r = client.post(f"/api/{path}", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and field in detail


CONFIG = json.loads(resources.files("servecost").joinpath("data/configs/deepseek-v3.json").read_text())
NUMBERS = [k for k, v in CONFIG.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(changes=st.dictionaries(st.sampled_from(NUMBERS), st.one_of(
           st.integers(-3, 3), st.integers(0, 10**12), st.floats(-1e300, 1e300), st.none(), st.text(max_size=3)),
           min_size=1, max_size=4),
       path=st.sampled_from(["plan", "predict"]))
def test_any_pasted_config_is_answered_or_refused(client, changes, path):
    body = {"config": CONFIG | changes, "hardware": "b200" if path == "predict" else ["b200"]}
    assert client.post(f"/api/{path}", json=body).status_code in (200, 422)


def test_body_that_is_not_json(client):
    r = client.post("/api/plan", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "body" in r.json()["detail"]


def test_validate_upload_as_cli(client, capsys, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(RUNS_CSV)
    r = client.post("/api/validate", files={"file": ("runs.csv", RUNS_CSV, "text/csv")})
    assert r.status_code == 200
    data = r.json()
    assert data == json.loads(cli(capsys, "validate", str(path), "--format", "json"))
    assert data["predicted"] == 2 and len(data["skipped"]) == 1


@pytest.mark.parametrize("name, content, message", [
    ("runs.txt", RUNS_CSV, "give a .csv"),
    ("runs.csv", "model,hardware\nx,y\n", "runs.csv: missing column"),
    ("runs.csv", RUNS_CSV.replace("60,7.5", "abc,7.5"), "column ttft_ms: 'abc'"),
    ("bench.json", "[1, 2", "bench.json line 1: not valid JSON"),
])
def test_validate_bad_upload_is_422(client, name, content, message):
    r = client.post("/api/validate", files={"file": (name, content)})
    assert r.status_code == 422 and message in r.json()["detail"]


def test_upload_and_body_size_limits(client):
    big = "x" * (limits.MAX_BODY_BYTES + 1)
    assert client.post("/api/validate", files={"file": ("runs.csv", big)}).status_code == 413
    assert client.post("/api/plan", content=big, headers={"content-type": "application/json"}).status_code == 413


def test_too_many_runs(client):
    rows = RUNS_CSV.splitlines()[1] + "\n"
    r = client.post("/api/validate", files={"file": ("runs.csv", RUNS_CSV.splitlines()[0] + "\n"
                                                     + rows * (limits.MAX_RUNS + 1))})
    assert r.status_code == 422 and "runs; at most" in r.json()["detail"]


def test_busy_server_answers_429(monkeypatch):
    monkeypatch.setattr(limits, "QUEUE_TIMEOUT_S", 0.01)
    app = create_app()
    app.state.cpu = limits.CpuSlots(slots=0)
    with TestClient(app) as c:
        r = c.post("/api/plan", json={})
    assert r.status_code == 429 and "retry" in r.json()["detail"]


def test_non_finite_numbers_become_null():
    assert json.loads(_answer('{"a": NaN, "b": [Infinity, 1.5]}', "json").body) == {"a": None, "b": [None, 1.5]}


def test_page_and_plotly_are_served_offline(client):
    page = client.get("/")
    assert page.status_code == 200 and "servecost explorer" in page.text
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and "plotly.js" in js.text[:200]
    for f in STATIC.iterdir():   # no CDN, font or call outside the app
        text = f.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, f.name


def test_openapi_lists_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/models", "/api/hardware", "/api/predict", "/api/plan", "/api/frontier", "/api/batch-discount",
            "/api/power", "/api/outlook", "/api/validate"} <= set(paths)


def test_cli_has_serve_and_core_needs_no_fastapi(capsys):
    assert "--port" in cli(capsys, "serve", "--help")
    code = "import sys, servecost.cli, servecost.plan; sys.exit('fastapi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


SIM = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "deployment": {"tp": 1}, "duration_s": 60, "seed": 1,
       "workload": {"streams": [{"class": "interactive", "rate_per_s": 5, "input_tokens": 800, "output_tokens": 100}]}}


def test_simulate_matches_the_cli_summary(client, tmp_path, capsys):
    import yaml
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SIM))
    with pytest.raises(SystemExit):
        main(["simulate", str(path), "--format", "json"])
        raise SystemExit(0)
    cli = json.loads(capsys.readouterr().out)
    api = client.post("/api/simulate", json=SIM).json()
    for key in ("requests", "completed", "classes", "fleet", "deployment"):
        assert api[key] == cli[key]
    rows = client.post("/api/simulate?format=csv", json=SIM).text.splitlines()
    assert rows[0].startswith("id,class,arrival_s") and len(rows) == cli["requests"] + 1


@pytest.mark.parametrize("change, words", [
    ({"duration_s": 100_000}, ["workload", "50,000"]),
    ({"workload": {"clients": 100_000, "streams": [{"input_tokens": 10, "output_tokens": 10}]}}, ["workload", "50,000"]),
    ({"model": "/etc/passwd"}, ["model", "catalogue id"]),
    ({"workload": {"trace": "/etc/passwd"}}, ["workload.trace"]),
    ({"fleet": {"router": "random"}}, ["fleet.router"]),
])
def test_simulate_limits_and_bad_scenarios_are_422(client, change, words):
    r = client.post("/api/simulate", json=SIM | change)
    assert r.status_code == 422 and all(w in r.json()["detail"] for w in words), r.json()


def test_plan_prefix_cache_and_mixed_fleet_over_http(client):
    """The API takes plan's serving options: a cached prefix, a prefill accelerator, a speculation method."""
    body = {"hardware": ["groq-lpu"], "prefill_hardware": "h100-sxm", "prefix_cache_hit": 0.5,
            "speculation_method": "eagle3"}
    o = client.post("/api/plan", json=body).json()["options"][0]
    assert o["prefill"]["hardware"] == "h100-sxm" and o["prefix_cache_hit_frac"] == 0.5
    assert o["usd_per_mtok_output"] * o["demanded_mtok_per_hour"] == pytest.approx(o["usd_per_hour"], rel=0.01)
