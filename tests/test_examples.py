"""The examples cannot rot: each runs and its key figures match the stored golden output
(examples/*.out.json; regenerate with `python tests/test_examples.py --write` after a change that
is meant to move them, and say why in the commit)."""

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

from servecost.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FAST = ["closed-loop-benchmark", "bursty-disaggregated"]   # batch-tier takes ~25 s: benchmarks/batch_tier.py


def figures(summary: dict) -> dict:
    """Requests, completions, steps and events, each class's TTFT / TPOT p50 and p99, and $/Mtok."""
    out = {k: summary[k] for k in ("requests", "completed", "steps", "events")}
    for klass, c in summary["classes"].items():
        out[klass] = {m: {p: round(c[m][p], 6) for p in ("p50", "p99")} for m in ("ttft_s", "tpot_s")}
        out[klass]["completed"] = c["completed"]
    out["usd_per_mtok_output"] = round(summary["cost"]["usd_per_mtok_output"], 6)
    return out


def run_example(name: str) -> dict:
    """`servecost simulate EXAMPLE --format json`, as a user runs it, reduced to its key figures."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as exc:
        main(["simulate", str(EXAMPLES / f"{name}.yaml"), "--format", "json"])
        raise SystemExit(0)
    assert exc.value.code == 0
    return figures(json.loads(buf.getvalue()))


@pytest.mark.parametrize("name", FAST)
def test_example_output_matches_its_golden_file(name):
    golden = json.loads((EXAMPLES / f"{name}.out.json").read_text())
    assert run_example(name) == golden


if __name__ == "__main__" and "--write" in sys.argv:
    for name in FAST:
        (EXAMPLES / f"{name}.out.json").write_text(json.dumps(run_example(name), indent=2) + "\n")
        print("wrote", name)
