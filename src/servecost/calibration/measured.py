"""A measured serving run, and how names in measurement files map onto catalogue ids.
The file formats are read in readers.py."""

import re
from dataclasses import dataclass

from .. import hardware, models

SYSTEMS = {"a100_sxm": "a100-sxm", "h100_sxm": "h100-sxm", "h200_sxm": "h200-sxm", "b200_sxm": "b200",
           "b200": "b200", "gb200": "gb200-nvl72", "gb200_sxm": "gb200-nvl72", "b300_sxm": "b300", "b300": "b300",
           "gb300": "gb300-nvl72", "gb300_sxm": "gb300-nvl72", "mi300x": "mi300x", "mi325x": "mi325x",
           "mi355x": "mi355x"}
SUFFIXES = ("-instruct", "-fp8", "-nvfp4", "-fp4", "-fp8-dynamic", "-awq", "-int4")


@dataclass(frozen=True)
class Run:
    """One measured serving configuration and its measured TTFT / TPOT (seconds)."""
    id: str
    model: str | None          # catalogue id, None when unmapped
    hardware: str | None
    engine: str
    mode: str                  # agg | disagg
    input_tokens: int
    output_tokens: int
    concurrency: float
    tp: int
    pp: int
    dp_attn: int
    ep: int
    moe_tp: int
    weight_dtype: str          # "" = native
    expert_dtype: str
    kv_dtype: str
    measured_ttft_s: float
    measured_tpot_s: float
    pools: dict                # disagg: per-pool parallelism and worker counts (None when not given)
    pools_assumed: bool = False  # disagg run whose worker counts the file does not give
    speculative: str = ""        # speculative decoding as the file names it ("" = none)
    source_model: str = ""
    source_system: str = ""
    skip_reason: str = ""        # why the reader found the row unpredictable ("" = none), e.g. an unknown dtype

    @property
    def assumed(self) -> bool:
        """Predicted under a stated assumption (pool sizes, or speculative settings the file does not
        give): reported apart and not fitted on."""
        return self.pools_assumed or bool(self.speculative)


def catalogue_model(hf_id: str) -> str | None:
    """Catalogue id for a Hugging Face model id (org/name), or None."""
    cat = models.catalogue()
    name = hf_id.split("/")[-1].lower().replace("meta-llama-", "llama-")
    changed = True
    while changed:
        changed = False
        for suffix in SUFFIXES:
            if name.endswith(suffix):
                name, changed = name[: -len(suffix)], True
    name = re.sub(r"^deepseek-v3\.\d+", "deepseek-v3", name)   # V3.1 / V3.2 keep V3's shapes
    return name if name in cat else None


def catalogue_hardware(name: str) -> str | None:
    """Catalogue id for a system name as benchmark files spell it (h100_sxm, b200_sxm, gb200, h100-sxm)."""
    key = name.strip().lower()
    return SYSTEMS.get(key, key if key in hardware.catalogue() else None)
