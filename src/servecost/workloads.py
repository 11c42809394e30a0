"""Workload presets: prompt and output lengths and the share of prompt tokens the prefix cache serves.

Each preset is a sourced figure, applied at the boundary (`--workload`); explicit options override it.
"""

from dataclasses import dataclass

from .errors import InputError, suggest


@dataclass(frozen=True)
class Workload:
    input_tokens: int
    output_tokens: int
    prefix_cache_hit_frac: float
    source: str


WORKLOADS = {
    # A chat turn with its history (servecost's default lengths); the cached share: a 5K-token fixed
    # prefix (persona, rules, memory) over 10 follow-up turns hit 51-91% across three providers
    # (dev.to/sm1ck/we-measured-llm-prompt-caching-in-production-same-prompt-0-to-91-hit-rates-oio,
    # 2026-05-28); the low end is taken.
    "chat": Workload(2000, 500, 0.5, "dev.to prompt-caching measurement 2026-05-28: 51-91% hits, low end"),
    # An agentic coding turn: Codex / GPT-5.4 traces on SWE-bench Pro reach ~80K tokens of context by
    # turn 30, an input:output ratio of about 131:1, and a 94.2% prefix-cache hit rate ("Serving Agentic
    # Workloads at Scale with vLLM x Mooncake", blog.vllm.ai, 2026-05-06; dataset
    # huggingface.co/datasets/Inferact/codex_swebenchpro_traces).
    "agentic": Workload(80_000, 611, 0.942, "vLLM x Mooncake blog 2026-05-06: 80K context, 131:1, 94.2% hits"),
    # Offline batch jobs: independent documents, no shared history (an estimate: nothing cached).
    "batch": Workload(2000, 500, 0.0, "estimate: independent requests, no shared prefix"),
}


def get(name: str) -> Workload:
    key = name.strip().lower()
    if key not in WORKLOADS:
        raise InputError(f"workload={name!r} is not known; use one of {', '.join(WORKLOADS)}{suggest(key, WORKLOADS)}")
    return WORKLOADS[key]


def resolve(name: str | None, input_tokens: int | None, output_tokens: int | None,
            hit_frac: float | None) -> tuple[int, int, float]:
    """(input, output, hit) from a preset and the options given explicitly (None: not given)."""
    w = get(name) if name else Workload(2000, 500, 0.0, "")
    return (w.input_tokens if input_tokens is None else input_tokens,
            w.output_tokens if output_tokens is None else output_tokens,
            w.prefix_cache_hit_frac if hit_frac is None else hit_frac)
