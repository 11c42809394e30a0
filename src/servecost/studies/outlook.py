"""The three-year view: does today's hardware still serve the models of the coming years, and at
what cost per token? A roster (data/roster.yaml, editable) gives each year's model as a catalogue
model with fields changed; every accelerator plans it at the asked speed, year by year, its value
following the family's used-price curve (resale.py).

Buy or wait: strategies over the horizon, each a fleet sized every year for that year's model
(plan, 1M users), costed per year as holding (fall in resale value + cost of capital on what the
chips are still worth) plus facility, energy and other opex:
  keep     - buy today's cheapest chip, keep it, add (or sell) chips of it as the models grow;
  best     - each year buy that year's cheapest chip available (announced hardware included: a chip
             is a candidate from its release_year), selling the previous fleet at its resale value.
    $/Mtok of a year = that year's cost / the demanded Mtok of the year
"""

from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path

import yaml

from .. import hardware, models
from ..dtypes import canonical
from ..economics import Assumptions
from ..errors import InputError
from ..models import ModelSpec
from ..params import active_params, total_params
from ..plan import Option, Scenario, plan_one
from ..profiles import Profiles, shipped
from .. import resale, workloads
from ..units import HOUR_S, YEAR_S

# The calendar year of roster year 0 (servecost's catalogue date, 2026-12); a chip released in
# BASE_YEAR + y is a candidate from roster year y.
BASE_YEAR = 2026
HOURS_PER_YEAR = YEAR_S / HOUR_S


@dataclass(frozen=True)
class Year:
    year: int
    name: str
    model: ModelSpec
    input_tokens: int
    output_tokens: int
    why: str
    prefix_cache_hit_frac: float = 0.0


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
    hit = workloads.get(entry["workload"]).prefix_cache_hit_frac if entry.get("workload") else 0.0
    hit = float(entry.get("prefix_cache_hit", hit))
    if not 0 <= hit <= 1:
        raise InputError(f"{source} year {entry['year']}: prefix_cache_hit={hit!r} must be between 0 and 1")
    return Year(int(entry["year"]), entry["name"], m, int(entry.get("input_tokens", 2000)),
                int(entry.get("output_tokens", 500)), str(entry.get("why", "")), hit)


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


def available_from(hw, base_year: int) -> int:
    """The first year a chip can be bought: its release year, and for an announced chip not before
    next year (announced is not yet shipping)."""
    return hw.release_year if hw.status == "available" else max(hw.release_year, base_year + 1)


def outlook(years: list[Year], speed: float, hardware_ids: tuple[str, ...] = (), a: Assumptions = Assumptions(),
            profiles: Profiles | None = None, engine: str = "", base_year: int = BASE_YEAR) -> dict:
    """$/Mtok per accelerator per year (or why it cannot serve), resale value, the cheapest each year,
    and the buy-or-wait strategies (module docstring)."""
    profiles = profiles or shipped()
    hws = hardware.select(hardware_ids, announced=True)   # announced chips enter from their release year
    rows, options = [], {}
    for hw in hws:
        cells = []
        for y in years:
            sc = Scenario(model=y.model.id, users=1_000_000, speed_tokens_per_s=speed, input_tokens=y.input_tokens,
                          output_tokens=y.output_tokens, hardware=(hw.id,), engine=engine,
                          prefix_cache_hit_frac=y.prefix_cache_hit_frac)
            option, why = plan_one(y.model, hw, sc, a, profiles.get(engine, hw.id))
            options[hw.id, y.year] = option
            cells.append({"year": y.year, "usd_per_mtok_output": option.usd_per_mtok_output if option else None,
                          "reason": None if option else why.reason,
                          "available": available_from(hw, base_year) <= base_year + y.year,
                          # a chip bought new in year 0, resold at its family's used price in year y
                          "residual_value_usd": float(resale.value_frac(hw.family, y.year)) * hw.capex_usd})
        rows.append({"hardware": hw.id, "vendor": hw.vendor, "family": hw.family, "release_year": hw.release_year,
                     "lifetime_years": resale.LIFETIME_YEARS.get(hw.family, 5.0), "years": cells})
    cheapest = {y.year: _cheapest(hws, options, y.year, base_year) for y in years}
    return {"speed_tokens_per_s": speed, "base_year": base_year, "assumptions": a.as_dict(),
            "roster": [{"year": y.year, "name": y.name, "total_params": total_params(y.model),
                        "active_params": active_params(y.model), "weight_dtype": y.model.weight_dtype,
                        "expert_dtype": y.model.expert_dtype, "input_tokens": y.input_tokens,
                        "output_tokens": y.output_tokens, "prefix_cache_hit_frac": y.prefix_cache_hit_frac,
                        "why": y.why} for y in years],
            "hardware": rows, "cheapest": cheapest,
            "strategies": strategies(years, hws, options, a, base_year, cheapest)}


def _cheapest(hws, options: dict, year: int, base_year: int) -> str | None:
    """The available accelerator with the lowest $/Mtok in roster year `year`."""
    costs = [(options[h.id, year].usd_per_mtok_output, h.id) for h in hws
             if options[h.id, year] and available_from(h, base_year) <= base_year + year]
    return min(costs)[1] if costs else None


def _year_cost(option: Option, cohorts: list, hw, year: int, a: Assumptions) -> float:
    """A year's cost of a fleet: holding each cohort (resale.holding_usd) plus the option's other costs."""
    hold = sum(n * float(resale.holding_usd(hw.capex_usd, hw.family, year - bought, a.cost_of_capital_frac))
               for n, bought in cohorts)
    b = option.cost_breakdown_usd_per_hour
    running = sum(b.get(k, 0.0) for k in ("facility_usd_per_hour", "energy_usd_per_hour", "other_usd_per_hour"))
    return hold + running * HOURS_PER_YEAR


def _resize(cohorts: list, need: int, year: int) -> tuple[list, int, int]:
    """Cohorts after buying new chips up to `need` or selling the oldest beyond it: (cohorts, bought, sold)."""
    have = sum(n for n, _ in cohorts)
    if need >= have:
        return cohorts + ([(need - have, year)] if need > have else []), need - have, 0
    out, surplus = [], have - need
    for n, bought in cohorts:            # oldest first
        drop = min(n, surplus)
        surplus -= drop
        if n - drop:
            out.append((n - drop, bought))
    return out, 0, have - need


def _strategy(name: str, text: str, pick, years, options, a: Assumptions) -> dict:
    """Run one strategy: `pick(year)` names the chip of each year; the fleet follows it."""
    cohorts, current, rows = [], None, []
    for y in years:
        hw_id = pick(y.year)
        option = options.get((hw_id, y.year)) if hw_id else None
        if option is None:
            rows.append({"year": y.year, "hardware": hw_id, "usd": None, "usd_per_mtok": None,
                         "reason": f"{hw_id or 'no chip'} cannot serve year {y.year}'s model at the speed"})
            continue
        hw = hardware.get(hw_id)
        sold = sum(n for n, _ in cohorts) if hw_id != current else 0
        write_off = 0.0
        if hw_id != current and current:   # the old fleet sold: below its book value where no market exists
            old = hardware.get(current)
            write_off = sum(n * float(resale.write_off_usd(old.capex_usd, old.family, y.year - b)) for n, b in cohorts)
        if hw_id != current:
            cohorts = []
        life = resale.LIFETIME_YEARS.get(hw.family, 5.0)
        retired = sum(n for n, b in cohorts if y.year - b >= life)      # past their lifetime: replaced
        cohorts = [(n, b) for n, b in cohorts if y.year - b < life]
        cohorts, bought, sold_more = _resize(cohorts, option.chips, y.year)
        sold_more += retired
        current = hw_id
        usd = _year_cost(option, cohorts, hw, y.year, a) + write_off
        mtok = option.demanded_mtok_per_hour * HOURS_PER_YEAR
        rows.append({"year": y.year, "hardware": hw_id, "chips": option.chips, "bought_chips": bought,
                     "sold_chips": sold + sold_more, "usd": usd, "mtok": mtok, "usd_per_mtok": usd / mtok})
    served = [r for r in rows if r["usd"] is not None]
    complete = len(served) == len(rows)
    total_usd, total_mtok = sum(r["usd"] for r in served), sum(r["mtok"] for r in served)
    return {"name": name, "description": text, "years": rows, "total_usd": total_usd if complete else None,
            "total_usd_per_mtok": total_usd / total_mtok if complete and total_mtok else None}


def strategies(years: list[Year], hws, options: dict, a: Assumptions, base_year: int, cheapest: dict) -> list[dict]:
    """Keep today's cheapest chip, or buy each year's cheapest available (module docstring)."""
    if not years:
        return []
    first = cheapest.get(years[0].year)
    return [
        _strategy("keep", f"buy {first} in year {years[0].year} and keep it, adding chips as the models grow",
                  lambda year: first, years, options, a),
        _strategy("best", "each year buy that year's cheapest available chip (announced ones from their "
                  "release year), selling the previous fleet at its resale value",
                  lambda year: cheapest.get(year), years, options, a),
    ]
