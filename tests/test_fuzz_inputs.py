"""The input contract, fuzzed: a config.json, a scenario, a runs CSV or a command line is either
answered, or refused with one line naming the field and exit code 2 (CLI) or a 4xx (API); never
a traceback, a hang or a 5xx."""

import json
import os
import math
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

# SERVECOST_FUZZ_EXAMPLES=N: N random examples per test instead of the few fixed ones CI runs
EXAMPLES = int(os.environ.get("SERVECOST_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int) -> settings:
    return settings(max_examples=EXAMPLES or examples, deadline=None, derandomize=not EXAMPLES,
                    suppress_health_check=list(HealthCheck))

from servecost import models
from servecost.cli import MAX_ERROR_CHARS, main
from servecost.errors import InputError
from servecost.sim import limits, scenario

FUZZ = fuzz(40)

BASE_CONFIG = json.loads(resources.files("servecost").joinpath("data/configs/mixtral-8x7b.json").read_text())

# values a new user or an attacker types where a number or a name goes
WEIRD = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
    st.sampled_from([0, -1, 1, 2, 3, 7, 2**31, 2**63, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.5, 2.5, 1e-300, 1e300]),
    st.text(max_size=20), st.sampled_from(["", "nan", "inf", "1e18", "fp8", "x" * 500]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _one_line_exit_2(argv: list[str], capsys) -> int:
    """Run the CLI; the contract: exit 0, or exit 2 with one short `error:` line."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    err = capsys.readouterr().err.strip()
    if code:
        assert code == 2, (argv, code, err)
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
        assert len(lines[0]) <= MAX_ERROR_CHARS + len("error: ")
    return code


CONFIG_KEYS = ["num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim",
               "vocab_size", "intermediate_size", "num_local_experts", "num_experts_per_tok", "quantization_config",
               "torch_dtype", "layer_types", "sliding_window", "max_position_embeddings", "decoder_sparse_step",
               "moe_layers", "text_config", "kv_lora_rank", "first_k_dense_replace", "tie_word_embeddings"]


@given(st.dictionaries(st.sampled_from(CONFIG_KEYS), WEIRD, min_size=1, max_size=4))
@FUZZ
def test_config_json_is_a_spec_or_one_input_error(patch):
    cfg = BASE_CONFIG | patch
    try:
        m = models.from_hf_config(cfg, "fuzz")
    except InputError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return
    assert m.n_layers >= 1 and m.d_model >= 1 and m.n_heads >= 1 and m.n_kv_heads >= 1
    assert not m.n_experts or 1 <= m.experts_per_token <= m.n_experts


@given(st.dictionaries(st.sampled_from(CONFIG_KEYS), WEIRD, min_size=1, max_size=3))
@fuzz(15)
def test_cli_model_path_is_answered_or_refused(tmp_path_factory, capsys, patch):
    path = tmp_path_factory.mktemp("cfg") / "config.json"
    path.write_text(json.dumps(BASE_CONFIG | patch))
    _one_line_exit_2(["predict", "--model", str(path), "--hardware", "h100-sxm", "--format", "json"], capsys)


SCENARIO = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "deployment": {"tp": 1}, "duration_s": 20,
            "fleet": {"replicas": 1}, "workload": {"streams": [{"rate_per_s": 1, "input_tokens": 500,
                                                                "output_tokens": 50}]}}
SCENARIO_KEYS = ["duration_s", "seed", "speed", "fleet.replicas", "fleet.max_seqs", "fleet.token_budget",
                 "fleet.kv_tokens", "fleet.prefill_replicas", "fleet.router", "deployment.tp", "deployment.ep",
                 "workload.clients", "workload.streams.0.rate_per_s", "workload.streams.0.input_tokens",
                 "workload.streams.0.output_tokens", "workload.streams.0.input_spread",
                 "workload.streams.0.count", "workload.streams.0.arrival", "workload.streams.0.cv",
                 "workload.streams.0.class", "slo.ttft_s", "kv_dtype", "engine", "model", "hardware"]


@given(st.dictionaries(st.sampled_from(SCENARIO_KEYS), WEIRD, min_size=1, max_size=3))
@FUZZ
def test_scenario_builds_within_limits_or_one_input_error(patch):
    try:
        spec = scenario.parse(scenario.apply(SCENARIO, patch))
        b = scenario.build(spec, limits=limits.API)
    except InputError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 600
        return
    need = b.requests.input_tokens + b.requests.output_tokens
    assert need.max() <= b.config.kv_tokens


RUN_COLUMNS = ["model", "hardware", "engine", "concurrency", "input_tokens", "output_tokens", "ttft_ms", "tpot_ms",
               "tp", "pp", "dp_attn", "ep", "weight_dtype", "kv_dtype", "disaggregated", "speculative"]
GOOD_ROW = {"model": "llama-3.1-70b", "hardware": "h100-sxm", "engine": "vllm", "concurrency": 8,
            "input_tokens": 1000, "output_tokens": 500, "ttft_ms": 120, "tpot_ms": 20, "tp": 4, "pp": 1,
            "dp_attn": 1, "ep": 1, "weight_dtype": "fp8", "kv_dtype": "fp8", "disaggregated": "no", "speculative": ""}
CSV_WEIRD = st.one_of(WEIRD.map(lambda v: "" if v is None else str(v)), st.sampled_from(["1e18", "2.5", "-4",
                                                                                        "tensorflow", '"a,b"']))


@given(st.lists(st.dictionaries(st.sampled_from(RUN_COLUMNS), CSV_WEIRD, max_size=3), min_size=0, max_size=3))
@fuzz(25)
def test_validate_answers_or_refuses_a_runs_csv(tmp_path_factory, capsys, patches):
    path = tmp_path_factory.mktemp("runs") / "runs.csv"
    rows = [GOOD_ROW | {k: v.replace(",", ";").replace("\n", " ") for k, v in p.items()} for p in patches]
    path.write_text(",".join(RUN_COLUMNS) + "\n" + "".join(",".join(str(r[c]) for c in RUN_COLUMNS) + "\n"
                                                            for r in rows))
    code = _one_line_exit_2(["validate", str(path), "--format", "json"], capsys)
    if not rows:
        assert code == 2


NUMBER_OPTIONS = {"plan": ["--users", "--speed", "--input-tokens", "--output-tokens", "--pue", "--load"],
                  "predict": ["--batch", "--context", "--tp", "--pp", "--ep"]}
CLI_WEIRD = st.sampled_from(["0", "-1", "-3", "nan", "inf", "-inf", "1e20", "100000000000000000000", "2.5", "",
                             "abc", "1e-300", "99999999999"])


@given(st.sampled_from(sorted(NUMBER_OPTIONS)), st.data())
@fuzz(20)
def test_cli_numbers_are_answered_or_refused(capsys, command, data):
    option = data.draw(st.sampled_from(NUMBER_OPTIONS[command]))
    value = data.draw(CLI_WEIRD)
    argv = [command, "--model", "llama-3.1-8b", "--hardware", "h100-sxm", option, value, "--format", "json"]
    code = _one_line_exit_2(argv, capsys)
    if value in ("nan", "inf", "-inf", "-1", "-3", "1e20", "100000000000000000000"):
        assert code == 2, (argv, "accepted")


@pytest.mark.parametrize("argv", [
    ["plan", "--speed", "inf"], ["plan", "--users", "100000000000000000000"], ["predict", "--model", "llama-3.1-8b",
                                                                               "--hardware", "h100-sxm", "--tp", "0"],
    ["sweep", "examples/batch-tier-sweep.yaml", "--workers", "-3"], ["serve", "--port", "99999"],
    ["simulate", "examples/closed-loop-benchmark.yaml", "--max-events", "nan"]])
def test_nonsense_options_exit_2(capsys, argv):
    assert _one_line_exit_2(argv, capsys) == 2


def test_finite():
    assert math.isfinite(limits.API.max_events)


SIM_FLEET = st.fixed_dictionaries({}, optional={
    "replicas": st.integers(1, 4), "prefill_replicas": st.integers(0, 2), "max_seqs": st.integers(1, 4096),
    "token_budget": st.integers(16, 20000), "kv_tokens": st.one_of(st.just(0), st.integers(2, 200_000)),
    "batch_max_seqs": st.integers(0, 64), "router": st.sampled_from(["least_tokens", "round_robin", "shortest_queue"])})
SIM_STREAM = st.fixed_dictionaries({"rate_per_s": st.floats(0.1, 300)}, optional={
    "class": st.sampled_from(["interactive", "batch"]), "arrival": st.sampled_from(["poisson", "bursty", "diurnal"]),
    "input_tokens": st.integers(1, 20000), "output_tokens": st.integers(1, 3000), "input_spread": st.floats(0, 3),
    "output_spread": st.floats(0, 3), "cv": st.floats(0.1, 10), "deadline_s": st.floats(0.1, 1e4),
    "count": st.integers(0, 300)})


@given(SIM_FLEET, st.lists(SIM_STREAM, min_size=1, max_size=2), st.integers(0, 20), st.floats(2, 30))
@fuzz(60)
def test_small_simulations_run_or_refuse(fleet, streams, clients, duration_s):
    """Whatever the fleet and workload, a run ends (within the API's limits) or raises one InputError."""
    from servecost.sim.run import run
    doc = SCENARIO | {"fleet": fleet, "duration_s": duration_s, "workload": {"streams": streams, "clients": clients}}
    try:
        spec = scenario.parse(doc)
        result = run(spec, limits=limits.Limits(max_events=2e5, max_memory_bytes=0.5e9, deadline_s=20))
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert result.summary.requests >= 0
