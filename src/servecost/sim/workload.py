"""Requests: arrival times, prompt and output lengths, class. Deterministic for a seed.

Arrivals: Poisson (rate lambda), bursty (gamma inter-arrivals with coefficient of variation CV:
shape 1/CV^2), diurnal (a Poisson process whose rate follows rate(t) = mean * (1 + a cos(2 pi (t -
t_peak) / day)), drawn by thinning), or replayed from a trace CSV (arrival_s, input_tokens,
output_tokens[, class]). Lengths: fixed, lognormal from mean and spread, or taken from the trace.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..units import DAY_S

INTERACTIVE, BATCH = 0, 1


@dataclass(frozen=True)
class Requests:
    arrival_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    klass: np.ndarray              # INTERACTIVE or BATCH
    deadline_s: np.ndarray         # absolute deadline (inf for interactive)

    def __len__(self) -> int:
        return self.arrival_s.size

    @classmethod
    def merge(cls, parts: list["Requests"]) -> "Requests":
        cat = {f: np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__}
        order = np.argsort(cat["arrival_s"], kind="stable")
        return cls(**{k: v[order] for k, v in cat.items()})


@dataclass(frozen=True)
class Stream:
    """One class of traffic: how it arrives and how long its requests are."""
    klass: int = INTERACTIVE
    arrival: str = "poisson"              # poisson | bursty | diurnal
    rate_per_s: float = 10.0              # mean arrival rate
    cv: float = 1.0                       # bursty: coefficient of variation of inter-arrivals
    peak_to_mean: float = 2.0             # diurnal: peak rate / mean rate (<= 2 with a cosine)
    peak_hour: float = 14.0               # diurnal: hour of the day of the peak
    input_tokens: float = 1000.0
    input_spread: float = 0.0             # lognormal sigma (0: fixed)
    output_tokens: float = 500.0
    output_spread: float = 0.0
    deadline_s: float = float("inf")      # batch: each request done within this many seconds
    count: int = 0                        # requests to draw (0: as many as arrive in duration)
    extra: dict = field(default_factory=dict)


def _lengths(rng, mean, spread, n):
    if spread <= 0:
        return np.full(n, int(round(mean)), dtype=np.int64)
    mu = np.log(mean) - spread**2 / 2          # lognormal with this mean
    return np.maximum(1, np.round(rng.lognormal(mu, spread, n))).astype(np.int64)


def _arrivals(rng, s: Stream, duration_s: float) -> np.ndarray:
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
        rate = s.rate_per_s * (1 + amp * np.cos(2 * np.pi * (t - s.peak_hour * 3600) / DAY_S))
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
    for s in streams:
        t = _arrivals(rng, s, duration_s)
        n = t.size
        parts.append(Requests(t, _lengths(rng, s.input_tokens, s.input_spread, n),
                              _lengths(rng, s.output_tokens, s.output_spread, n),
                              np.full(n, s.klass, dtype=np.int8), t + s.deadline_s))
    return Requests.merge(parts)


def read_trace(path: str | Path) -> Requests:
    """Requests from a CSV with arrival_s, input_tokens, output_tokens and optional class, deadline_s."""
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"trace={str(path)!r}: no such file") from None
    for col in ("arrival_s", "input_tokens", "output_tokens"):
        if col not in df.columns:
            raise InputError(f"trace {Path(path).name}: missing column {col!r}; needs arrival_s, input_tokens, "
                             "output_tokens (optional class: interactive|batch, deadline_s)")
    klass = (df["class"].astype(str).str.lower() == "batch").to_numpy().astype(np.int8) if "class" in df else \
        np.zeros(len(df), dtype=np.int8)
    deadline = df["deadline_s"].to_numpy(float) if "deadline_s" in df else np.full(len(df), np.inf)
    order = np.argsort(df["arrival_s"].to_numpy(float), kind="stable")
    return Requests(df["arrival_s"].to_numpy(float)[order], df["input_tokens"].to_numpy(np.int64)[order],
                    df["output_tokens"].to_numpy(np.int64)[order], klass[order],
                    (df["arrival_s"].to_numpy(float) + deadline)[order])
