"""The HTTP API's contract, fuzzed with hypothesis: a body is answered (200) or refused with a 4xx
whose detail is one short line; never a 5xx. Simulations are refused before they start when they
would not fit a replica's KV cache or the server's limits."""

import json
import os
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

# SERVECOST_FUZZ_EXAMPLES=N: N random examples per test instead of the few fixed ones CI runs
EXAMPLES = int(os.environ.get("SERVECOST_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int) -> settings:
    return settings(max_examples=EXAMPLES or examples, deadline=None, derandomize=not EXAMPLES,
                    suppress_health_check=list(HealthCheck))


pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from servecost.web.app import create_app  # noqa: E402

client = TestClient(create_app(), raise_server_exceptions=False)
FUZZ = fuzz(30)
CONFIG = json.loads(resources.files("servecost").joinpath("data/configs/llama-3.1-8b.json").read_text())

WEIRD = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
    st.sampled_from([0, -1, 2**63, 10**12, 65536, 1e9, 1e12, 1e15]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12), st.sampled_from(["", "x" * 300, "fp8", "tensorflow"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def _contract(response) -> None:
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail and len(detail) < 600, detail


@given(st.dictionaries(st.sampled_from(["users", "speed", "input_tokens", "output_tokens", "hardware", "model",
                                        "pue", "load", "kv_dtype", "monte_carlo", "price_range"]),
                       WEIRD, min_size=1, max_size=3))
@FUZZ
def test_plan_body(body):
    _contract(client.post("/api/plan", json={"hardware": ["h100-sxm"], "model": "llama-3.1-8b"} | body))


@given(st.dictionaries(st.sampled_from(["num_hidden_layers", "hidden_size", "num_attention_heads",
                                        "num_key_value_heads", "vocab_size", "quantization_config",
                                        "num_local_experts", "num_experts_per_tok", "torch_dtype", "head_dim"]),
                       WEIRD, min_size=1, max_size=3))
@FUZZ
def test_pasted_config(patch):
    for path in ("/api/predict", "/api/plan"):
        _contract(client.post(path, json={"hardware": ["h100-sxm"] if path == "/api/plan" else "h100-sxm",
                                          "config": CONFIG | patch}))


SIM = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "deployment": {"tp": 1}, "duration_s": 20,
       "workload": {"streams": [{"rate_per_s": 1, "input_tokens": 500, "output_tokens": 50}]}}


@given(st.sampled_from(["input_tokens", "output_tokens", "rate_per_s", "count", "input_spread"]), WEIRD,
       st.sampled_from([{}, {"max_seqs": 65536}, {"token_budget": 1000000}, {"kv_tokens": 10**15},
                        {"replicas": 100000}]))
@fuzz(25)
def test_simulate_body(key, value, fleet):
    body = SIM | {"fleet": fleet, "workload": {"streams": [SIM["workload"]["streams"][0] | {key: value}]}}
    _contract(client.post("/api/simulate", json=body))


@pytest.mark.parametrize("patch, detail", [
    ({"input_tokens": 1e9}, "does not fit a replica's KV cache"),
    ({"output_tokens": 1e9}, "does not fit a replica's KV cache"),
    ({"input_tokens": 1e12}, "less than or equal to"),
])
def test_prompt_or_output_over_the_kv_cache_is_a_422(patch, detail):
    body = SIM | {"workload": {"streams": [SIM["workload"]["streams"][0] | patch]}}
    r = client.post("/api/simulate", json=body)
    assert r.status_code == 422 and detail in r.json()["detail"]


@pytest.mark.parametrize("fleet", [{"replicas": 1, "max_seqs": 65536},
                                   {"replicas": 1, "max_seqs": 65536, "token_budget": 1000000}])
def test_huge_batch_is_refused_before_it_allocates(fleet):
    r = client.post("/api/simulate", json=SIM | {"fleet": fleet})
    assert r.status_code == 422 and "GB; the limit is" in r.json()["detail"]


@pytest.mark.parametrize("quant", ["fp8", [1, 2], 3, True])
def test_quantization_config_not_an_object_is_a_422(quant):
    for path, hw in (("/api/plan", ["h100-sxm"]), ("/api/frontier", ["h100-sxm"]), ("/api/predict", "h100-sxm")):
        r = client.post(path, json={"hardware": hw, "config": CONFIG | {"quantization_config": quant}})
        assert r.status_code == 422 and "quantization_config" in r.json()["detail"], (path, r.text)


def test_docs_assets_are_local():
    html = client.get("/docs").text
    assert "cdn" not in html.lower() and "/static-docs/swagger-ui-bundle.js" in html
    assert client.get("/static-docs/swagger-ui-bundle.js").status_code == 200
    assert "cdn" not in client.get("/redoc").text.lower()


@pytest.mark.parametrize("path, raw", [("/api/plan", b'{"users": NaN}'), ("/api/plan", b'{"speed": Infinity}'),
                                       ("/api/simulate", b'{"model": "llama-3.1-8b", "hardware": "h100-sxm", '
                                                         b'"duration_s": NaN, "workload": {}}'),
                                       ("/api/predict", b'{"hardware": "h100-sxm", "batch": -Infinity}')])
def test_nan_and_infinity_literals_are_a_422(path, raw):
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
