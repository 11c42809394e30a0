"""How one replica is split over chips: tensor, pipeline, attention-data and expert parallelism.

A replica has pp pipeline stages of tp * dp_attn chips each. Attention heads are split tp ways and
the batch dp_attn ways; the dense FFN, vocabulary and MoE layers use all chips of a stage, the
experts split ep ways and each expert tp*dp_attn/ep ways (MoE tensor parallel).
Fields may be numpy arrays that broadcast, so a grid of configurations is one object.
"""

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .models import ModelSpec
from .units import Array


@dataclass(frozen=True)
class Parallel:
    tp: Array = 1
    pp: Array = 1
    dp_attn: Array = 1
    ep: Array = 1

    @property
    def chips_per_stage(self):
        return np.multiply(self.tp, self.dp_attn)

    @property
    def chips(self):
        """Chips in one replica."""
        return self.chips_per_stage * np.asarray(self.pp)

    @property
    def moe_tp(self):
        return self.chips_per_stage / np.asarray(self.ep)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def check(m: ModelSpec, par: Parallel) -> Parallel:
    """Validate a scalar configuration for `m`; InputError names the field and the fix."""
    for name in ("tp", "pp", "dp_attn", "ep"):
        if int(getattr(par, name)) < 1:
            raise InputError(f"{name}={getattr(par, name)} must be >= 1")
    tp, pp, ep = int(par.tp), int(par.pp), int(par.ep)
    if m.n_heads % tp:
        raise InputError(f"tp={tp} must divide n_heads={m.n_heads}; try one of {divisors(m.n_heads)}")
    if m.attention == "gqa" and tp < m.n_kv_heads and m.n_kv_heads % tp:
        raise InputError(f"tp={tp} must divide n_kv_heads={m.n_kv_heads}; try one of {divisors(m.n_kv_heads)}")
    if pp > m.n_layers:
        raise InputError(f"pp={pp} exceeds n_layers={m.n_layers}; use pp <= {m.n_layers}")
    if ep > 1 and not m.is_moe:
        raise InputError(f"ep={ep} needs a mixture-of-experts model; {m.id} is dense, use ep=1")
    if m.is_moe and m.n_experts % ep:
        raise InputError(f"ep={ep} must divide n_experts={m.n_experts}; try one of {divisors(m.n_experts)}")
    if int(par.chips_per_stage) % ep:
        raise InputError(f"ep={ep} must divide tp*dp_attn={int(par.chips_per_stage)} (chips per stage)")
    return par
