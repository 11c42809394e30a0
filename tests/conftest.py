"""Shared fixtures: catalogue hardware and models, an ideal efficiency for hand-worked checks."""

import os
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import settings

from servecost import hardware, models
from servecost.efficiency import DEFAULT

CHROMIUM = "/usr/bin/chromium"


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
    return replace(DEFAULT, gemm_flops_frac=1.0, attn_flops_frac=1.0, decode_attn_flops_frac=1.0, kv_stream_bytes_per_s=np.inf,
                   mem_bw_frac=1.0, link_bw_frac=1.0,
                   overlap_p=200.0, layer_overhead_s=0.0, step_overhead_s=0.0, seq_overhead_s=0.0,
                   ttft_overhead_s=0.0, prefill_queue_frac=0.0)


@pytest.fixture(scope="module")
def base_url():
    """The app served by uvicorn on a free local port, for the browser tests (module-scoped)."""
    import socket
    import threading
    import time

    uvicorn = pytest.importorskip("uvicorn")
    from servecost.web.app import create_app
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright (the browser tests skip without them)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()
