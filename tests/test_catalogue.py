"""Every catalogue figure cites a source or a labelled estimate; the required ids exist."""

import csv
from importlib import resources

import pytest

from servecost import hardware, models

DATA = resources.files("servecost").joinpath("data")
HW_IDS = ["a100-sxm", "h100-sxm", "h200-sxm", "b200", "gb200-nvl72", "b300", "gb300-nvl72", "mi300x", "mi325x",
          "mi355x", "tpu-v5e", "tpu-v5p", "tpu-v6e", "tpu-v7", "cerebras-cs3", "groq-lpu", "trainium2", "gaudi3",
          "sn40l"]
MODEL_IDS = ["kimi-k2", "kimi-k2.5", "deepseek-v3", "deepseek-r1", "qwen3-235b-a22b", "qwen3-coder-480b-a35b",
             "qwen3.5-397b-a17b", "glm-4.5", "glm-5", "minimax-m2.5", "gpt-oss-120b", "gpt-oss-20b",
             "llama-4-maverick", "llama-3.1-405b", "llama-3.1-70b", "llama-3.3-70b", "llama-3.1-8b",
             "mixtral-8x7b", "qwen3-32b"]
HW_NUMERIC = ["release_year", "bf16_tflops", "fp8_tflops", "fp4_tflops", "int8_tops", "hbm_gb", "hbm_gb_per_s",
              "sram_mb", "sram_gb_per_s", "scaleup_domain_chips", "scaleup_gb_per_s_per_dir", "scaleup_latency_us",
              "scaleout_gb_per_s_per_dir", "tdp_w", "idle_w", "chip_price_usd", "system_share_usd",
              "cloud_usd_per_chip_hr"]
REQUIRED = ["release_year", "bf16_tflops", "scaleup_domain_chips", "tdp_w", "idle_w", "chip_price_usd",
            "system_load_w", "status", "capex_basis"]   # cloud prices only where a rental price is published


def _rows(name):
    return list(csv.DictReader(DATA.joinpath(name).read_text().splitlines()))


def _cited_columns(text: str) -> set[str]:
    cols = set()
    for part in text.split(" | "):
        head = part.split(":", 1)[0]
        cols.update(c.strip() for c in head.split(","))
    return cols


def test_all_required_ids_present():
    assert set(HW_IDS) <= set(hardware.catalogue())
    assert set(MODEL_IDS) <= set(models.catalogue())


@pytest.mark.parametrize("row", _rows("hardware.csv"), ids=lambda r: r["id"])
def test_every_hardware_number_cites_a_source_or_estimate(row):
    cited = _cited_columns(row["sources"]) | _cited_columns(row["estimates"])
    for col in HW_NUMERIC:
        if row[col].strip():
            float(row[col])
            assert col in cited, f"{row['id']}.{col}={row[col]} has no source or labelled estimate"


@pytest.mark.parametrize("row", _rows("hardware.csv"), ids=lambda r: r["id"])
def test_hardware_rows_have_the_figures_the_engine_needs(row):
    for col in REQUIRED:
        assert row[col].strip(), f"{row['id']} lacks {col}"
    hw = hardware.get(row["id"])
    assert hw.mem_bytes > 0 and hw.mem_bytes_per_s > 0
    assert hw.idle_w < hw.tdp_w


@pytest.mark.parametrize("row", _rows("models.csv"), ids=lambda r: r["id"])
def test_every_model_row_cites_config_and_params(row):
    cited = _cited_columns(row["sources"])
    assert {"config", "params_total_b", "params_active_b"} <= cited
