"""Requests: arrival times, prompt and output lengths, class. Deterministic for a seed.

Arrivals: Poisson (rate lambda), bursty (gamma inter-arrivals with coefficient of variation CV:
shape 1/CV^2), diurnal (a Poisson process whose rate follows rate(t) = mean * (1 + a cos(2 pi (t -
t_peak) / day)), drawn by thinning; `day_s` shorter than 86,400 s compresses the day, which keeps
the shape of the load while requests, lasting seconds, see the same queues), or replayed from a trace CSV (arrival_s, input_tokens,
output_tokens[, class, deadline_s, cached_tokens]). Lengths: fixed, lognormal from mean and spread, or resampled from
a trace's (input, output) pairs (empirical). Shared prefixes: a stream's `prefix_cache_hit` h gives
each request cached_tokens = round(h * input) prompt tokens already in the KV cache (a system prompt
or the conversation so far): they hold KV but are not prefilled again.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, refuse_special_file
from ..units import DAY_S

INTERACTIVE, BATCH = 0, 1
MAX_TOKENS = 1e9            # prompt or output tokens of one request: beyond any model's context
MAX_ARRIVAL_S = 1e9         # about 32 years
MAX_TRACE_BYTES = 1e9       # a trace CSV: about 30 bytes a request


@dataclass(frozen=True)
class Requests:
    arrival_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    klass: np.ndarray              # INTERACTIVE or BATCH
    deadline_s: np.ndarray         # absolute deadline (inf for interactive)
    cached_tokens: np.ndarray      # prompt tokens served from the prefix cache (not prefilled)
    source: np.ndarray | None = None   # stream index (>= 0) or -1 - trace row (< 0), to name a bad request

    def __len__(self) -> int:
        return self.arrival_s.size

    @classmethod
    def merge(cls, parts: list["Requests"]) -> "Requests":
        cat = {f: np.concatenate([_field(p, f) for p in parts]) for f in cls.__dataclass_fields__}
        order = np.argsort(cat["arrival_s"], kind="stable")
        return cls(**{k: v[order] for k, v in cat.items()})


def _field(r: Requests, name: str) -> np.ndarray:
    value = getattr(r, name)
    return np.full(len(r), -1, dtype=np.int64) if value is None else value


def where(source: int, trace_name: str = "trace") -> str:
    """The input a request came from, as a user names it: `workload.streams.2` or `trace x.csv row 7`."""
    return f"workload.streams.{source}" if source >= 0 else f"{trace_name} row {-1 - source + 2}"


@dataclass(frozen=True)
class Stream:
    """One class of traffic: how it arrives and how long its requests are."""
    klass: int = INTERACTIVE
    arrival: str = "poisson"              # poisson | bursty | diurnal
    rate_per_s: float = 10.0              # mean arrival rate
    cv: float = 1.0                       # bursty: coefficient of variation of inter-arrivals
    peak_to_mean: float = 2.0             # diurnal: peak rate / mean rate (<= 2 with a cosine)
    peak_hour: float = 14.0               # diurnal: hour of the day of the peak
    day_s: float = DAY_S                  # diurnal: length of the cycle (shorter: a compressed day)
    input_tokens: float = 1000.0
    input_spread: float = 0.0             # lognormal sigma (0: fixed)
    output_tokens: float = 500.0
    output_spread: float = 0.0
    deadline_s: float = float("inf")      # batch: each request done within this many seconds
    count: int = 0                        # requests to draw (0: as many as arrive in duration)
    lengths_from: str = ""                # trace CSV: resample its (input, output) pairs instead
    prefix_cache_hit: float = 0.0         # share of each prompt served from the prefix cache


def _lengths(rng, mean, spread, n):
    if spread <= 0:
        return np.full(n, int(round(mean)), dtype=np.int64)
    mu = np.log(mean) - spread**2 / 2          # lognormal with this mean
    return np.maximum(1, np.round(rng.lognormal(mu, spread, n))).astype(np.int64)


def _arrivals(rng, s: Stream, duration_s: float) -> np.ndarray:
    if s.rate_per_s <= 0:
        return np.zeros(0)
    expected = s.count or int(s.rate_per_s * duration_s * 1.2 + 100)
    if s.arrival == "poisson":
        gaps = rng.exponential(1 / s.rate_per_s, expected)
    elif s.arrival == "bursty":
        shape = 1 / s.cv**2
        gaps = rng.gamma(shape, 1 / (s.rate_per_s * shape), expected)
    elif s.arrival == "diurnal":
        amp = min(s.peak_to_mean - 1, 1.0)
        peak_rate = s.rate_per_s * (1 + amp)
        t = np.cumsum(rng.exponential(1 / peak_rate, int(expected * (1 + amp)) + 100))
        rate = s.rate_per_s * (1 + amp * np.cos(2 * np.pi * (t / s.day_s - s.peak_hour / 24)))
        t = t[rng.uniform(0, peak_rate, t.size) < rate]
        return t[:s.count] if s.count else t[t < duration_s]
    else:
        raise InputError(f"arrival={s.arrival!r} is not known; use poisson, bursty or diurnal")
    t = np.cumsum(gaps)
    return t[:s.count] if s.count else t[t < duration_s]


def generate(streams: list[Stream], duration_s: float, seed: int = 0) -> Requests:
    """Requests of all streams, merged in arrival order."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, s in enumerate(streams):
        t = _arrivals(rng, s, duration_s)
        n = t.size
        if s.lengths_from:
            pool = read_trace(s.lengths_from)
            if not len(pool):
                raise InputError(f"workload.streams.{i}.lengths_from={s.lengths_from!r}: the file has no rows to "
                                 "resample lengths from")
            pick = rng.integers(0, len(pool), n)
            inputs, outputs = pool.input_tokens[pick], pool.output_tokens[pick]
        else:
            inputs = _lengths(rng, s.input_tokens, s.input_spread, n)
            outputs = _lengths(rng, s.output_tokens, s.output_spread, n)
        cached = np.minimum(np.round(inputs * s.prefix_cache_hit), inputs - 1).astype(np.int64)
        parts.append(Requests(t, inputs, outputs, np.full(n, s.klass, dtype=np.int8), t + s.deadline_s, cached,
                              np.full(n, i, dtype=np.int64)))
    return Requests.merge(parts)


def read_trace(path: str | Path, batch_deadline_s: float = DAY_S) -> Requests:
    """Requests from a CSV with arrival_s, input_tokens, output_tokens and optional class
    (interactive | batch) and deadline_s (seconds after arrival; batch default one day)."""
    name = Path(path).name
    refuse_special_file(path, "trace", "a CSV")
    if Path(path).is_file() and Path(path).stat().st_size > MAX_TRACE_BYTES:
        raise InputError(f"trace={str(path)!r}: {Path(path).stat().st_size / 1e9:,.1f} GB; at most "
                         f"{MAX_TRACE_BYTES / 1e9:g} GB (about 30 million requests): sample it")
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"trace={str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"trace={str(path)!r} is a folder; give the path of a CSV") from None
    except OSError as exc:
        raise InputError(f"trace={str(path)!r} cannot be read ({exc.strerror})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"trace {name}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    for col in ("arrival_s", "input_tokens", "output_tokens"):
        if col not in df.columns:
            raise InputError(f"trace {name}: missing column {col!r}; needs arrival_s, input_tokens, "
                             "output_tokens (optional class: interactive|batch, deadline_s)")
    values = {}
    for col, lo, hi in (("arrival_s", 0.0, MAX_ARRIVAL_S), ("input_tokens", 1.0, MAX_TOKENS),
                        ("output_tokens", 1.0, MAX_TOKENS)):
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~((v >= lo) & (v <= hi)))
        if bad.size:
            raise InputError(f"trace {name}: row {bad[0] + 2}, column {col}={str(df[col].iloc[bad[0]])[:40]!r}: "
                             f"give a number from {lo:g} to {hi:g}")
        values[col] = v
    klass = np.zeros(len(df), dtype=np.int8)
    if "class" in df:
        names = df["class"].astype(str).str.strip().str.lower()
        bad = np.flatnonzero(~names.isin(["interactive", "batch"]).to_numpy())
        if bad.size:
            raise InputError(f"trace {name}: row {bad[0] + 2}, column class={df['class'].iloc[bad[0]]!r}: "
                             "use interactive or batch")
        klass = (names == "batch").to_numpy().astype(np.int8)
    deadline = pd.to_numeric(df["deadline_s"], errors="coerce").to_numpy(float) if "deadline_s" in df else \
        np.full(len(df), np.nan)
    bad = np.flatnonzero(deadline <= 0)
    if bad.size:
        raise InputError(f"trace {name}: row {bad[0] + 2}, column deadline_s={deadline[bad[0]]:g}: give the seconds "
                         "after arrival by which the request must be done (> 0), or leave it empty")
    deadline = np.where(np.isnan(deadline), np.where(klass == BATCH, batch_deadline_s, np.inf), deadline)
    order = np.argsort(values["arrival_s"], kind="stable")
    arrival = values["arrival_s"][order]
    inputs = values["input_tokens"][order].astype(np.int64)
    cached = pd.to_numeric(df["cached_tokens"], errors="coerce").fillna(0).to_numpy(float)[order] \
        if "cached_tokens" in df else np.zeros(len(df))
    cached = np.clip(np.round(cached), 0, inputs - 1).astype(np.int64)
    return Requests(arrival, inputs, values["output_tokens"][order].astype(np.int64), klass[order],
                    arrival + deadline[order], cached, -1 - order.astype(np.int64))
