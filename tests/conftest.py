"""Shared fixtures: catalogue hardware and models, an ideal efficiency for hand-worked checks."""

import os
from dataclasses import replace

import pytest
from hypothesis import settings

from servecost import hardware, models
from servecost.efficiency import DEFAULT


# Property tests draw the same examples on every run, so CI is repeatable; explore new ones with
# `HYPOTHESIS_PROFILE=default python -m pytest`.
settings.register_profile("repeatable", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def h100():
    return hardware.get("h100-sxm")


@pytest.fixture
def llama8b():
    return models.get("llama-3.1-8b")


@pytest.fixture
def kimi():
    return models.get("kimi-k2")


@pytest.fixture
def ideal():
    """Peak rates, perfect overlap (max), no overheads: the textbook roofline."""
    return replace(DEFAULT, gemm_flops_frac=1.0, attn_flops_frac=1.0, mem_bw_frac=1.0, link_bw_frac=1.0,
                   overlap_p=200.0, layer_overhead_s=0.0, step_overhead_s=0.0, seq_overhead_s=0.0,
                   ttft_overhead_s=0.0, prefill_queue_frac=0.0)
