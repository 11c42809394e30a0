"""`predict` against public H100 decode measurements of Llama-3-8B in bf16 (tests/data, sources inside),
with the shipped calibrated profile of the engine that measured them (as `predict --engine vllm`); rows
run with vLLM's multi-step scheduling (num-scheduler-steps=N, stated per row) pay the host's per-step
and per-sequence time once per N steps."""

import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from servecost import profiles
from servecost.parallel import Parallel
from servecost.roofline import Precision, decode_step_s

PUBLIC = pd.read_csv(Path(__file__).parent / "data" / "public_llama31_8b_h100_decode.csv")
VERIFIED = PUBLIC[~PUBLIC.notes.str.contains("UNVERIFIED_GPU")]


@pytest.mark.parametrize("row", [r for _, r in VERIFIED.iterrows()], ids=lambda r: f"b{r.batch}")
def test_decode_step_within_20pct_of_public_h100(row, llama8b, h100):
    engine = "vllm" if row.engine.startswith("vLLM") else "sglang" if row.engine.startswith("SGLang") else "trtllm"
    eff = profiles.shipped().get(engine, h100.id)
    steps = re.search(r"num-scheduler-steps=(\d+)", row.engine)
    if steps:   # multi-step scheduling: the host schedules once per that many decode steps
        n = int(steps.group(1))
        eff = replace(eff, step_overhead_s=eff.step_overhead_s / n, seq_overhead_s=eff.seq_overhead_s / n)
    predicted_ms = float(decode_step_s(llama8b, h100, Parallel(), Precision(), row.batch, row.context_tokens, eff)) * 1e3
    assert predicted_ms == pytest.approx(row.step_ms, rel=0.20)


def test_public_rows_span_batch_1_to_200():
    assert VERIFIED.batch.min() == 1 and VERIFIED.batch.max() >= 200
