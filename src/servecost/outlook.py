"""The three-year view: does today's hardware still serve the models of the coming years, and at
what cost per token? A roster (data/roster.yaml, editable) gives each year's model as a catalogue
model with fields changed; every accelerator plans it at the asked speed, year by year. The
hardware's residual value falls straight-line over its lifetime."""

from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path

import yaml

from . import hardware, models
from .dtypes import canonical
from .economics import Assumptions
from .errors import InputError
from .models import ModelSpec
from .params import active_params, total_params
from .plan import Scenario, plan_one
from .profiles import Profiles, shipped


@dataclass(frozen=True)
class Year:
    year: int
    name: str
    model: ModelSpec
    input_tokens: int
    output_tokens: int
    why: str


def _year(entry: dict, source: str) -> Year:
    for key in ("year", "name", "base"):
        if key not in entry:
            raise InputError(f"{source}: a year lacks {key!r}; each entry needs year, name and base")
    m = models.get(entry["base"], f"{source} base")
    changes = entry.get("changes") or {}
    known = {f.name for f in fields(ModelSpec)}
    for key in changes:
        if key not in known:
            raise InputError(f"{source} year {entry['year']}: {key!r} is not a ModelSpec field; "
                             f"e.g. n_experts, experts_per_token, n_layers, d_model")
    m = replace(m, id=f"year{entry['year']}", name=entry["name"], **changes)
    for key in ("weight_dtype", "expert_dtype"):
        if entry.get(key):
            m = replace(m, **{key: canonical(entry[key], f"{source} {key}")})
    return Year(int(entry["year"]), entry["name"], m, int(entry.get("input_tokens", 2000)),
                int(entry.get("output_tokens", 500)), str(entry.get("why", "")))


def roster(path: str | Path | None = None) -> list[Year]:
    """The years of a roster YAML (default: the one shipped)."""
    if path:
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            raise InputError(f"roster={str(path)!r}: no such file") from None
        source = str(path)
    else:
        text, source = resources.files("servecost").joinpath("data/roster.yaml").read_text(), "data/roster.yaml"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"roster={source!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("years"), list):
        raise InputError(f"roster={source!r} needs a 'years' list of {{year, name, base, changes, ...}}")
    return sorted((_year(e, source) for e in data["years"]), key=lambda y: y.year)


def outlook(years: list[Year], speed: float, hardware_ids: tuple[str, ...] = (), a: Assumptions = Assumptions(),
            profiles: Profiles | None = None, engine: str = "") -> dict:
    """$/Mtok per accelerator per year (or why it cannot serve), residual value and the cheapest each year."""
    profiles = profiles or shipped()
    hws = hardware.select(hardware_ids)
    rows = []
    for hw in hws:
        cells = []
        for y in years:
            sc = Scenario(model=y.model.id, users=1_000_000, speed_tokens_per_s=speed, input_tokens=y.input_tokens,
                          output_tokens=y.output_tokens, hardware=(hw.id,), engine=engine)
            option, why = plan_one(y.model, hw, sc, a, profiles.get(engine, hw.id))
            residual = max(0.0, 1 - y.year / a.lifetime_years) * hw.capex_usd
            cells.append({"year": y.year, "usd_per_mtok_output": option["usd_per_mtok_output"] if option else None,
                          "reason": None if option else why["reason"], "residual_value_usd": residual})
        rows.append({"hardware": hw.id, "vendor": hw.vendor, "release_year": hw.release_year, "years": cells})
    cheapest = {}
    for i, y in enumerate(years):
        costs = [(r["years"][i]["usd_per_mtok_output"], r["hardware"]) for r in rows if r["years"][i]["usd_per_mtok_output"]]
        cheapest[y.year] = min(costs)[1] if costs else None
    return {"speed_tokens_per_s": speed, "assumptions": a.as_dict(),
            "roster": [{"year": y.year, "name": y.name, "total_params": total_params(y.model),
                        "active_params": active_params(y.model), "weight_dtype": y.model.weight_dtype,
                        "expert_dtype": y.model.expert_dtype, "input_tokens": y.input_tokens,
                        "output_tokens": y.output_tokens, "why": y.why} for y in years],
            "hardware": rows, "cheapest": cheapest}
