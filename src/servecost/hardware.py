"""Accelerators: per-chip compute, memory, links, power and price; presets from data/hardware.csv.

Memory is the capacity the device reports (bytes), less its family's runtime reserve. Power is per
chip, its share of the whole system's wall power (chip, host CPUs, switches, NICs, fans), idle and at
load. Capex is the owner's cost per installed chip (its share of server, network and rack); the cloud
price is a separate, separately sourced rental rate.
"""

import csv
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from .dtypes import COMPUTE_FORMATS, canonical
from .errors import InputError, suggest
from . import families
from .units import GB, GiB, MB, TERA, US

# The calibrated GEMM shares (profiles.yaml gemm_flops_frac) are shares of dense peak on Hopper-class
# chips: the reference is H100 SXM's measured maximum achievable bf16 matmul rate over its peak (its
# hardware.csv row: 794.5 of 989.4 TFLOP/s, 0.803). A chip whose own measured best-shape matmul reaches
# a smaller share of its peak runs every GEMM at that ratio of the calibrated share (matmul_scale).
REFERENCE_MAMF_CHIP = "h100-sxm"
TORUS_DIMS = {"torus2d": 2, "torus3d": 3}           # a torus scale-up network and its dimensions
TOPOLOGIES = ("switch", *TORUS_DIMS)


@dataclass(frozen=True, slots=True)
class Accelerator:
    id: str
    name: str
    vendor: str
    family: str                      # gpu | tpu | trainium | gaudi | wafer | lpu | rdu (data/families.yaml)
    release_year: int
    bf16_flops_per_s: float          # dense peaks
    fp8_flops_per_s: float           # 0 = no hardware support
    fp4_flops_per_s: float
    int8_ops_per_s: float
    hbm_bytes: float                 # as the device reports it
    hbm_bytes_per_s: float
    sram_bytes: float
    sram_bytes_per_s: float
    serves_from_sram: bool           # weights and KV live in on-chip SRAM (Cerebras, Groq)
    scaleup_domain_chips: int
    scaleup_bytes_per_s: float       # per chip, one direction
    scaleup_latency_s: float
    scaleout_bytes_per_s: float      # per chip, one direction
    tdp_w: float                     # the chip alone
    idle_w: float
    chip_price_usd: float            # owner's cost
    system_share_usd: float          # server, network and rack per chip, owner's cost
    cloud_usd_per_hr: float          # rental, sourced apart
    system_idle_w: float = 0.0       # per chip, its share of the system's wall power (0: the chip's own)
    system_load_w: float = 0.0
    dram_bytes: float = 0.0          # a third tier behind HBM (SambaNova SN40L DDR)
    dram_bytes_per_s: float = 0.0
    topology: str = "switch"         # scale-up network: switched, or a 2D / 3D torus
    status: str = "available"        # available | announced
    capex_basis: str = ""
    mamf_flops_per_s: float = 0.0    # measured maximum achievable bf16 matmul rate (0: not measured)
    sources: str = ""
    estimates: str = ""
    notes: str = ""

    @property
    def tiers(self) -> tuple[tuple[float, float], ...]:
        """(capacity bytes, bytes/s) of the memories that hold weights and KV, fastest first."""
        if self.serves_from_sram:
            return ((self.sram_bytes, self.sram_bytes_per_s),)
        if self.dram_bytes > 0:
            return ((self.hbm_bytes, self.hbm_bytes_per_s), (self.dram_bytes, self.dram_bytes_per_s))
        return ((self.hbm_bytes, self.hbm_bytes_per_s),)

    @property
    def mem_capacity_bytes(self) -> float:
        """Capacity of the tiers that hold weights and KV, as the device reports it."""
        return sum(c for c, _ in self.tiers)

    @property
    def mem_bytes(self) -> float:
        """Bytes the serving runtime gives to weights, KV and activations: capacity less the reserve."""
        return self.mem_capacity_bytes * (1 - families.get(self.family).reserve_frac)

    @property
    def mem_bytes_per_s(self) -> float:
        """Bandwidth of the fastest tier that holds weights and KV."""
        return self.tiers[0][1]

    def streaming_bytes_per_s(self, resident_bytes):
        """Bandwidth at which a step streams `resident_bytes` per chip held in the tiers fastest first:
        W = R / sum_i(r_i / W_i), r_i the part in tier i (the harmonic blend; one tier: its own)."""
        if len(self.tiers) == 1:
            return self.tiers[0][1]
        left, t = np.asarray(resident_bytes, dtype=float), 0.0
        total = np.maximum(left, 1.0)
        for capacity, bw in self.tiers:
            part = np.minimum(left, capacity)
            t, left = t + part / bw, left - part
        return total / np.maximum(t, total / self.tiers[0][1])

    @property
    def load_w(self) -> float:
        """Wall power per chip at full load: its share of the system's, else the chip's TDP."""
        return self.system_load_w or self.tdp_w

    @property
    def idle_wall_w(self) -> float:
        """Wall power per chip, idle with a model resident: its share of the system's, else the chip's."""
        return self.system_idle_w or self.idle_w

    def flops_per_s(self, weight_dtype: str) -> float:
        """Dense peak FLOP/s for matmuls on weights stored as `weight_dtype` (best supported format)."""
        rates = {"bf16": self.bf16_flops_per_s, "fp8": self.fp8_flops_per_s,
                 "fp4": self.fp4_flops_per_s, "int8": self.int8_ops_per_s}
        for fmt in COMPUTE_FORMATS[canonical(weight_dtype)]:
            if rates[fmt] > 0:
                return rates[fmt]
        return self.bf16_flops_per_s

    @property
    def matmul_scale(self) -> float:
        """The chip's measured best-shape bf16 matmul share of its peak over the reference chip's
        (reference_mamf_frac); 1 where it is not measured."""
        if not (self.mamf_flops_per_s and self.bf16_flops_per_s):
            return 1.0
        return self.mamf_flops_per_s / self.bf16_flops_per_s / reference_mamf_frac()

    def matmul_flops_per_s(self, weight_dtype: str) -> float:
        """Dense peak FLOP/s for matmuls on `weight_dtype` weights, at the chip's measured matmul
        ceiling relative to the reference chip's (matmul_scale; the bf16 ratio for every format)."""
        return self.flops_per_s(weight_dtype) * self.matmul_scale

    @property
    def capex_usd(self) -> float:
        return self.chip_price_usd + self.system_share_usd


def _num(row: dict, key: str, scale: float = 1.0) -> float:
    value = (row.get(key) or "").strip()
    return float(value) * scale if value else 0.0


def _hbm_bytes(row: dict) -> float:
    """Device-reported capacity (GiB column) where given, else the datasheet figure in GB."""
    return _num(row, "hbm_gib", GiB) or _num(row, "hbm_gb", GB)


def from_row(row: dict) -> Accelerator:
    return Accelerator(
        id=row["id"], name=row["name"], vendor=row["vendor"], family=row["family"],
        release_year=int(_num(row, "release_year")),
        bf16_flops_per_s=_num(row, "bf16_tflops", TERA),
        fp8_flops_per_s=_num(row, "fp8_tflops", TERA),
        fp4_flops_per_s=_num(row, "fp4_tflops", TERA),
        int8_ops_per_s=_num(row, "int8_tops", TERA),
        hbm_bytes=_hbm_bytes(row),
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
        system_idle_w=_num(row, "system_idle_w"), system_load_w=_num(row, "system_load_w"),
        dram_bytes=_num(row, "dram_gb", GB), dram_bytes_per_s=_num(row, "dram_gb_per_s", GB),
        topology=(row.get("topology") or "switch").strip() or "switch",
        status=(row.get("status") or "available").strip() or "available",
        capex_basis=(row.get("capex_basis") or "").strip(),
        mamf_flops_per_s=_num(row, "mamf_tflops", TERA),
        sources=row.get("sources", ""), estimates=row.get("estimates", ""), notes=row.get("notes", ""),
    )


@cache
def catalogue() -> dict[str, Accelerator]:
    """All catalogue accelerators by id, in file order."""
    text = resources.files("servecost").joinpath("data/hardware.csv").read_text()
    return {row["id"]: from_row(row) for row in csv.DictReader(text.splitlines())}


@cache
def reference_mamf_frac() -> float:
    """The reference chip's measured best-shape bf16 matmul share of its peak (REFERENCE_MAMF_CHIP)."""
    ref = catalogue()[REFERENCE_MAMF_CHIP]
    return ref.mamf_flops_per_s / ref.bf16_flops_per_s


# The user's own chips (--hardware-file, or a chip pasted into the API) for the command or request
# running in this context; they are looked up beside the catalogue, never written into it.
_own: ContextVar[dict[str, Accelerator]] = ContextVar("own_chips", default={})


def use_own(chips: list[Accelerator]) -> None:
    """Make `chips` (validated by schema.hardware_rows, ids apart from the catalogue's) known by id,
    beside the catalogue, to the rest of this command or request."""
    _own.set({c.id: c for c in chips})


def known() -> dict[str, Accelerator]:
    """The catalogue, then the user's own chips of this context."""
    return catalogue() | _own.get()


def get(hardware_id: str, field: str = "hardware") -> Accelerator:
    """The catalogue (or the user's own) accelerator `hardware_id`; InputError with close names if unknown."""
    hw = known()
    key = hardware_id.strip().lower()
    if key not in hw:
        raise InputError(f"{field}={hardware_id!r} is not in the catalogue{suggest(key, hw)}; "
                         f"`servecost hardware` lists the ids")
    return hw[key]


def select(hardware_ids, announced: bool = False) -> list[Accelerator]:
    """The accelerators named (InputError for an unknown id), or, when none is, every one on sale
    (and the announced ones with `announced`) with the user's own chips."""
    if hardware_ids:
        return [get(h) for h in hardware_ids]
    return [h for h in known().values() if announced or h.status == "available"]
