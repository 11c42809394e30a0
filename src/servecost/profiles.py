"""Efficiency profiles per serving engine and hardware generation, and how a prediction picks one.

A profile file (YAML) holds a `default` set of factors and, under `profiles`, sets keyed by engine
(`trtllm`), by hardware generation (`cdna3`) or by both (`trtllm/hopper`). A prediction uses the most
specific set that matches (engine and generation, then generation, then engine), else the default:
the default is fitted on every measured NVIDIA run. A chip of another family (TPU, Trainium, Gaudi,
Cerebras, Groq, SambaNova) without a set of its own keeps the default's kernel factors (achieved
shares of peak) but pays its own family's stated fixed costs, never the GPU engines' host overheads
(families.py, data/families.yaml).
"""

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from . import families
from . import hardware as hardware_catalogue
from .efficiency import DEFAULT, Efficiency, from_dict
from .errors import InputError
from .hardware import Accelerator

# Chips that share an architecture (kernels, memory system) share calibrated factors.
GENERATIONS = {"a100-sxm": "ampere", "h100-sxm": "hopper", "h200-sxm": "hopper", "b200": "blackwell",
               "gb200-nvl72": "blackwell", "b300": "blackwell", "gb300-nvl72": "blackwell", "mi300x": "cdna3",
               "mi325x": "cdna3", "mi355x": "cdna4"}
ENGINES = ("trtllm", "vllm", "sglang")
# Generations whose TTFT and TPOT are fitted and cross-validated on the shipped calibration runs (a
# test checks this against the file); the error bands are learnt on these. Elsewhere the factors are
# carried over and the bands may not hold. CDNA3 (MI300X, MI325X) has decode-kernel factors of its own,
# fitted to the TPOT of 15 published MI300X runs (data/calibration/amd_published_runs.csv): held-out
# DeepSeek-R1 runs on MI300X/MI325X then come within 6% (TPOT), against 2x too fast with NVIDIA's.
CALIBRATED_GENERATIONS = frozenset({"hopper", "blackwell"})


def calibrated(hardware_id: str) -> bool:
    """Whether measured runs of this chip's generation are in the calibration data."""
    return generation(hardware_id) in CALIBRATED_GENERATIONS


def generation(hardware_id: str) -> str:
    return GENERATIONS.get(hardware_id, hardware_id)


def _family_of(hw: "Accelerator | str") -> str:
    if isinstance(hw, Accelerator):
        return hw.family
    known = hardware_catalogue.known()
    return known[hw].family if hw in known else "gpu"


@dataclass(frozen=True)
class Profiles:
    default: Efficiency = DEFAULT
    groups: dict = field(default_factory=dict)      # "engine" or "engine/generation" -> Efficiency
    meta: dict = field(default_factory=dict)

    def get(self, engine: str | None, hw: "Accelerator | str") -> Efficiency:
        """The factors for `engine` on the chip's generation, else for that generation; for a GPU then
        for `engine`, else the default; for another family the default's kernel factors with the
        family's own fixed costs. `hw`: an Accelerator or a catalogue id."""
        hardware_id = hw.id if isinstance(hw, Accelerator) else hw
        gen = generation(hardware_id)
        for key in (f"{engine}/{gen}", gen):
            if key in self.groups:
                return self.groups[key]
        family = _family_of(hw)
        if family != "gpu":
            return self.groups.get(family) or families.get(family).efficiency(self.default)
        return self.groups.get(engine or "", self.default)

    def as_dict(self) -> dict:
        return {**self.meta, "default": self.default.as_dict(),
                "profiles": {k: v.as_dict() for k, v in sorted(self.groups.items())}}


def from_mapping(data: dict, source: str) -> Profiles:
    """Profiles from a parsed YAML mapping; a bare mapping of factors is a default-only profile."""
    if not isinstance(data, dict):
        raise InputError(f"{source} must be a mapping of factor names to numbers")
    if "default" not in data and "profiles" not in data:
        return Profiles(default=from_dict(data, source))
    groups = data.get("profiles") or {}
    if not isinstance(groups, dict):
        raise InputError(f"{source}: 'profiles' must map 'engine' or 'engine/generation' to factors")
    meta = {k: v for k, v in data.items() if k not in ("default", "profiles")}
    return Profiles(default=from_dict(data.get("default") or {}, f"{source} default"),
                    groups={k: from_dict(v, f"{source} profiles.{k}") for k, v in groups.items()}, meta=meta)


def load(path: str | Path) -> Profiles:
    """Read a profile YAML written by `servecost calibrate` (or a bare mapping of factors)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"profile={str(path)!r}: no such file; write one with `servecost calibrate`") from None
    except yaml.YAMLError as exc:
        raise InputError(f"profile={str(path)!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    return from_mapping(data, f"profile {path}")


@cache
def shipped() -> Profiles:
    """The profiles fitted on the calibration data shipped in the package (data/profiles.yaml), with
    the sets each non-GPU family's published measurements fit (data/family_profiles.yaml, written by
    benchmarks/accuracy.py --write from tests/data/family_runs.csv)."""
    res = resources.files("servecost").joinpath("data/profiles.yaml")
    base = from_mapping(yaml.safe_load(res.read_text()), "data/profiles.yaml") if res.is_file() else Profiles()
    fam = resources.files("servecost").joinpath("data/family_profiles.yaml")
    if not fam.is_file():
        return base
    extra = from_mapping(yaml.safe_load(fam.read_text()), "data/family_profiles.yaml")
    return Profiles(default=base.default, groups=base.groups | extra.groups, meta=base.meta)


def write(profiles: Profiles, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(profiles.as_dict(), sort_keys=False))
