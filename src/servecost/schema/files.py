"""Files a command reads or writes, checked before the work: output paths, simulation limits, and
your own chips (--hardware-file, `chips` in an API body)."""

import os
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from .. import families, hardware
from ..errors import InputError, refuse_special_file
from .bounds import FIXES, SimulateInput, _Strict, validate


def sim_limits(max_events: float, max_memory_gb: float, seed: int | None = None):
    """The CLI's simulation limits (sim.limits.CLI with the given numbers); checks the seed too."""
    from dataclasses import replace

    from ..sim.limits import CLI
    from ..units import GB
    v = validate(SimulateInput, max_events=max_events, max_memory_gb=max_memory_gb, seed=seed)
    return replace(CLI, max_events=v.max_events, max_memory_bytes=v.max_memory_gb * GB)


def output_file(path: str, option: str, suffixes: tuple[str, ...], force: bool = False) -> Path:
    """The path of a file a command will write, checked before the work: a known suffix, an existing
    writable folder, not a folder itself, and no file there already unless `force`."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"{option}={path!r} is a folder; give a file name ending in {' or '.join(suffixes)}")
    if p.suffix.lower() not in suffixes:
        raise InputError(f"{option}={path!r}: give a file name ending in {' or '.join(suffixes)}")
    _writable_folder(p.parent, option, path)
    if p.exists() and not force:
        raise InputError(f"{option}={path!r} exists; give a new name, or --force to overwrite it")
    if not p.exists():
        _try_create(p, option, path, p.touch, p.unlink)
    return p


def output_folder(path: str, option: str, force: bool = False) -> Path:
    """A folder a command will write its files into: new (in a writable folder), or existing and
    empty, or any existing folder with `force`."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise InputError(f"{option}={path!r} is a file; give a folder name (it is created)")
    if p.is_dir():
        if any(p.iterdir()) and not force:
            raise InputError(f"{option}={path!r} already holds files; give a new folder, or --force to "
                             "write over its files")
        _writable_folder(p, option, path)
    else:
        _writable_folder(p.parent, option, path)
        _try_create(p, option, path, p.mkdir, p.rmdir)
    return p


def _try_create(p: Path, option: str, path: str, create, remove) -> None:
    """Create `p` and remove it again: permission bits do not tell root where writing fails (/proc)."""
    try:
        create()
        remove()
    except OSError as exc:
        raise InputError(f"{option}={path!r} cannot be written ({exc.strerror}); give another path") from None


def _writable_folder(folder: Path, option: str, path: str) -> None:
    folder = folder if str(folder) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{option}={path!r}: the folder {str(folder)!r} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option}={path!r}: the folder {str(folder)!r} is not writable; give another path")


# --- your own chips: --hardware-file (YAML or CSV with the catalogue's columns) ---------------------

_TEXT = Field(default="", max_length=4000)


class HardwareRow(_Strict):
    """One chip as hardware.csv describes it; bounds keep a typo from pricing a 10^30 FLOP/s part."""
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    name: str = Field(default="", max_length=200)
    vendor: str = Field(default="custom", max_length=100)
    family: Literal[tuple(families.catalogue())]
    release_year: int = Field(default=2026, ge=1990, le=2040)
    # 1 EFLOP/s dense per chip is 64x the densest catalogue part (a CS-3 wafer, 15.6 PFLOP/s)
    bf16_tflops: float = Field(gt=0, le=1e6)
    fp8_tflops: float = Field(default=0, ge=0, le=1e6)
    fp4_tflops: float = Field(default=0, ge=0, le=1e6)
    int8_tops: float = Field(default=0, ge=0, le=1e6)
    hbm_gb: float = Field(default=0, ge=0, le=1e5)
    hbm_gib: float = Field(default=0, ge=0, le=1e5)
    hbm_gb_per_s: float = Field(default=0, ge=0, le=1e6)
    sram_mb: float = Field(default=0, ge=0, le=1e7)
    sram_gb_per_s: float = Field(default=0, ge=0, le=1e8)
    serves_from_sram: bool = False
    dram_gb: float = Field(default=0, ge=0, le=1e6)
    dram_gb_per_s: float = Field(default=0, ge=0, le=1e6)
    scaleup_domain_chips: int = Field(ge=1, le=1_000_000)
    scaleup_gb_per_s_per_dir: float = Field(gt=0, le=1e6)
    scaleup_latency_us: float = Field(default=10.0, gt=0, le=1e4)   # NVLink's figure (hardware.csv)
    scaleout_gb_per_s_per_dir: float = Field(gt=0, le=1e5)
    topology: Literal[hardware.TOPOLOGIES] = "switch"
    tdp_w: float = Field(gt=0, le=1e6)
    idle_w: float = Field(ge=0, le=1e6)
    system_idle_w: float = Field(default=0, ge=0, le=1e6)
    system_load_w: float = Field(default=0, ge=0, le=1e6)
    chip_price_usd: float = Field(ge=0, le=1e9)
    system_share_usd: float = Field(default=0, ge=0, le=1e9)
    cloud_usd_per_chip_hr: float = Field(default=0, ge=0, le=1e5)
    status: Literal["available", "announced"] = "available"
    capex_basis: str = _TEXT
    # measured best-shape bf16 matmul rate (mamf-finder); at most the chip's bf16 peak
    mamf_tflops: float = Field(default=0, ge=0, le=1e6)
    sources: str = _TEXT
    estimates: str = _TEXT
    notes: str = _TEXT

    @model_validator(mode="after")
    def _serving_tier(self):
        if self.serves_from_sram and not (self.sram_mb > 0 and self.sram_gb_per_s > 0):
            raise ValueError("serves_from_sram=true needs sram_mb > 0 and sram_gb_per_s > 0")
        if not self.serves_from_sram and not ((self.hbm_gb > 0 or self.hbm_gib > 0) and self.hbm_gb_per_s > 0):
            raise ValueError("a chip that serves from HBM needs hbm_gb (or hbm_gib) > 0 and hbm_gb_per_s > 0; "
                             "set serves_from_sram: true for an SRAM machine")
        if self.dram_gb > 0 and not self.dram_gb_per_s > 0:
            raise ValueError("dram_gb > 0 needs dram_gb_per_s > 0")
        if self.mamf_tflops > self.bf16_tflops:
            raise ValueError(f"mamf_tflops={self.mamf_tflops:g} exceeds bf16_tflops={self.bf16_tflops:g}: a measured "
                             "matmul rate cannot beat the chip's peak; give at most bf16_tflops, or leave it out (not measured)")
        if self.idle_w > self.tdp_w:
            raise ValueError(f"idle_w={self.idle_w:g} exceeds tdp_w={self.tdp_w:g}")
        if self.system_load_w and self.system_load_w < self.tdp_w:
            raise ValueError(f"system_load_w={self.system_load_w:g} is below the chip's tdp_w={self.tdp_w:g}; "
                             "give the chip's share of the whole system's wall power")
        return self


def _row_error(source: str, index: int, exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    where = f"{source}: chip {index + 1}" + (f" {field}" if field else "")
    if err["type"] == "missing":
        return InputError(f"{where}: missing; add the column (see `servecost hardware --format csv`)")
    value = err.get("input")
    shown = "" if isinstance(value, dict) else f"={str(value)[:60]!r}"
    fix = FIXES.get(err["type"], "see `servecost hardware --format csv` for the columns")
    return InputError(f"{where}{shown}: {err['msg'][:200]}; {fix}")


def _rows(path) -> list:
    import csv as _csv
    from pathlib import Path

    import yaml

    p = Path(path)
    refuse_special_file(p, "hardware-file", "a YAML or CSV file")
    try:
        with p.open(encoding="utf-8") as f:
            text = f.read(1_000_001)                             # bounded, whatever the file
    except FileNotFoundError:
        raise InputError(f"hardware-file={str(path)!r}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(f"hardware-file={str(path)!r}: cannot be read ({type(exc).__name__}); give a YAML or CSV file") from None
    if len(text) > 1_000_000:
        raise InputError(f"hardware-file={str(path)!r}: over 1 MB; a chip file holds a few rows")
    if p.suffix.lower() == ".csv":
        rows = [{k: v for k, v in r.items() if k is not None and v not in ("", None)}
                for r in _csv.DictReader(text.splitlines())]
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"hardware-file={str(path)!r} is not valid YAML: {str(exc).splitlines()[0][:200]}") from None
        rows = data.get("chips") if isinstance(data, dict) and "chips" in data else data
        rows = [rows] if isinstance(rows, dict) else rows
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"hardware-file={str(path)!r}: expected a list of chips (mappings of the catalogue's "
                         "columns), or a CSV with a header row")
    if len(rows) > 1000:
        raise InputError(f"hardware-file={str(path)!r}: {len(rows)} chips; at most 1,000")
    return rows


def hardware_rows(rows: list, source: str = "hardware-file") -> list:
    """Validated chips (hardware.Accelerator) from mappings of the catalogue's columns."""

    chips, seen = [], set()
    for i, row in enumerate(rows):
        try:
            valid = HardwareRow(**{str(k): v for k, v in row.items()})
        except ValidationError as exc:
            raise _row_error(source, i, exc) from None
        except TypeError:
            raise InputError(f"{source}: chip {i + 1}: column names must be text") from None
        if valid.id in seen:
            raise InputError(f"{source}: chip {i + 1} id={valid.id!r} is given twice; ids must differ")
        if valid.id in hardware.catalogue():
            raise InputError(f"{source}: chip {i + 1} id={valid.id!r} is a catalogue id; give your chip another id")
        seen.add(valid.id)
        values = valid.model_dump()
        values["name"] = values["name"] or valid.id
        chips.append(hardware.from_row({k: str(v).lower() if isinstance(v, bool) else str(v)
                                        for k, v in values.items()}))
    return chips


def load_hardware_file(path) -> list:
    """The chips of a --hardware-file (YAML list, `chips:` mapping, or CSV), each validated."""
    return hardware_rows(_rows(path), f"hardware-file {path}")
