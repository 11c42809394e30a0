"""Accelerators: per-chip compute, memory, links, power and price; presets from data/hardware.csv."""

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .dtypes import COMPUTE_FORMATS, canonical
from .errors import InputError, suggest
from .units import GB, MB, TERA, US


@dataclass(frozen=True, slots=True)
class Accelerator:
    id: str
    name: str
    vendor: str
    family: str                      # gpu | tpu | wafer | lpu | asic
    release_year: int
    bf16_flops_per_s: float          # dense peaks
    fp8_flops_per_s: float           # 0 = no hardware support
    fp4_flops_per_s: float
    int8_ops_per_s: float
    hbm_bytes: float
    hbm_bytes_per_s: float
    sram_bytes: float
    sram_bytes_per_s: float
    serves_from_sram: bool           # weights and KV live in on-chip SRAM (Cerebras, Groq)
    scaleup_domain_chips: int
    scaleup_bytes_per_s: float       # per chip, one direction
    scaleup_latency_s: float
    scaleout_bytes_per_s: float      # per chip, one direction
    tdp_w: float
    idle_w: float
    chip_price_usd: float
    system_share_usd: float          # server, network and rack per chip
    cloud_usd_per_hr: float
    sources: str = ""
    estimates: str = ""
    notes: str = ""

    @property
    def mem_bytes(self) -> float:
        """Capacity of the tier that holds weights and KV."""
        return self.sram_bytes if self.serves_from_sram else self.hbm_bytes

    @property
    def mem_bytes_per_s(self) -> float:
        """Bandwidth of the tier that holds weights and KV."""
        return self.sram_bytes_per_s if self.serves_from_sram else self.hbm_bytes_per_s

    def flops_per_s(self, weight_dtype: str) -> float:
        """Dense peak FLOP/s for matmuls on weights stored as `weight_dtype` (best supported format)."""
        rates = {"bf16": self.bf16_flops_per_s, "fp8": self.fp8_flops_per_s,
                 "fp4": self.fp4_flops_per_s, "int8": self.int8_ops_per_s}
        for fmt in COMPUTE_FORMATS[canonical(weight_dtype)]:
            if rates[fmt] > 0:
                return rates[fmt]
        return self.bf16_flops_per_s

    @property
    def capex_usd(self) -> float:
        return self.chip_price_usd + self.system_share_usd


def _num(row: dict, key: str, scale: float = 1.0) -> float:
    value = row.get(key, "").strip()
    return float(value) * scale if value else 0.0


def _from_row(row: dict) -> Accelerator:
    return Accelerator(
        id=row["id"], name=row["name"], vendor=row["vendor"], family=row["family"],
        release_year=int(_num(row, "release_year")),
        bf16_flops_per_s=_num(row, "bf16_tflops", TERA),
        fp8_flops_per_s=_num(row, "fp8_tflops", TERA),
        fp4_flops_per_s=_num(row, "fp4_tflops", TERA),
        int8_ops_per_s=_num(row, "int8_tops", TERA),
        hbm_bytes=_num(row, "hbm_gb", GB),
        hbm_bytes_per_s=_num(row, "hbm_gb_per_s", GB),
        sram_bytes=_num(row, "sram_mb", MB),
        sram_bytes_per_s=_num(row, "sram_gb_per_s", GB),
        serves_from_sram=row["serves_from_sram"].strip().lower() == "true",
        scaleup_domain_chips=max(1, int(_num(row, "scaleup_domain_chips"))),
        scaleup_bytes_per_s=_num(row, "scaleup_gb_per_s_per_dir", GB),
        scaleup_latency_s=_num(row, "scaleup_latency_us", US),
        scaleout_bytes_per_s=_num(row, "scaleout_gb_per_s_per_dir", GB),
        tdp_w=_num(row, "tdp_w"),
        idle_w=_num(row, "idle_w"),
        chip_price_usd=_num(row, "chip_price_usd"),
        system_share_usd=_num(row, "system_share_usd"),
        cloud_usd_per_hr=_num(row, "cloud_usd_per_chip_hr"),
        sources=row.get("sources", ""), estimates=row.get("estimates", ""), notes=row.get("notes", ""),
    )


@cache
def catalogue() -> dict[str, Accelerator]:
    """All catalogue accelerators by id, in file order."""
    text = resources.files("servecost").joinpath("data/hardware.csv").read_text()
    return {row["id"]: _from_row(row) for row in csv.DictReader(text.splitlines())}


def get(hardware_id: str, field: str = "hardware") -> Accelerator:
    """The catalogue accelerator `hardware_id`; InputError with close names if unknown."""
    hw = catalogue()
    key = hardware_id.strip().lower()
    if key not in hw:
        raise InputError(f"{field}={hardware_id!r} is not in the catalogue{suggest(key, hw)}; "
                         f"`servecost hardware` lists the ids")
    return hw[key]


def select(hardware_ids) -> list[Accelerator]:
    """The accelerators named (InputError for an unknown id), or the whole catalogue when none is."""
    return [get(h) for h in hardware_ids] if hardware_ids else list(catalogue().values())
