"""Speculative decoding / multi-token prediction: k drafted tokens verified in one step.

With each drafted token accepted independently with probability a, a step emits on average
    E = (1 - a^(k+1)) / (1 - a)        tokens per sequence      (Leviathan et al. 2023, eq. 1)
or, where a source publishes it, the measured mean acceptance length E itself. A step costs one
verification over k+1 query tokens plus k draft passes. A draft pass reads and multiplies the
draft's own parameters, the target's LM head included (MTP modules and EAGLE heads share it), so
against a decode step that works through the target's active parameters it takes
    t_draft = k * t_step * (P_draft + P_lm_head) / P_active
(an estimate: step time scales with the parameters a token passes through, memory- or compute-bound alike).
"""

from dataclasses import dataclass

from . import params as P
from .errors import InputError, suggest
from .models import ModelSpec

# DeepSeek-V3 technical report (arXiv:2412.19437, sec. 5.4.3): "the acceptance rate of the second
# token prediction ranges between 85% and 90%" with one MTP module. Used as the default for every
# catalogue model that ships MTP heads; other models' own rates are not published (an assumption).
MTP_ACCEPTANCE_FRAC = 0.85
# One MTP module run three times in a chain (SGLang EAGLE-style MTP, --speculative-num-steps 3
# --speculative-eagle-topk 1 --speculative-num-draft-tokens 4): SGLang measured 2.5-3 accepted tokens
# per step for DeepSeek-V3 with 4 draft tokens (github.com/sgl-project/sglang/pull/3582, 2025-02-14);
# the low end is taken for a chain (top-1) draft, an estimate.
MTP3_ACCEPTED_TOKENS = 2.5
# EAGLE-3 head with draft length 3: 2.62 mean acceptance length on MT-Bench, 1.8e9 parameters, for
# Kimi-K2.6 (huggingface.co/nvidia/Kimi-K2.6-Eagle3, model card, 2026-06-03). Used for every model (an
# assumption where no head of its own is published; the EAGLE-3 paper, arXiv:2503.01840, reports
# longer acceptance on 8B-70B dense models with tree drafts, which engines rarely run at large batch).
EAGLE3_ACCEPTED_TOKENS = 2.62
EAGLE3_DRAFT_TOKENS = 3
# Catalogue models with a published EAGLE-3 head that vLLM and SGLang load (--speculative-config
# method eagle3): huggingface.co/yuhuili/EAGLE3-LLaMA3.1-Instruct-8B and
# huggingface.co/yuhuili/EAGLE3-LLaMA3.3-Instruct-70B (the EAGLE authors, 2025). 'auto' searches
# EAGLE-3 for these, as serving providers run them (Groq's and Cerebras's speculative endpoints).
EAGLE3_HEADS = frozenset({"llama-3.1-8b", "llama-3.3-70b"})


@dataclass(frozen=True)
class Speculation:
    draft_tokens: int = 0           # k; 0 = plain decoding
    acceptance_frac: float = 0.0    # a, per drafted token
    method: str = "mtp"             # mtp (a model's MTP heads) | eagle3 (a draft head)
    accepted_tokens: float = 0.0    # published mean acceptance length per step (bonus token included); 0: from a

    @property
    def name(self) -> str:
        return "none" if not self.draft_tokens else f"{self.method}{self.draft_tokens}" \
            if self.method == "mtp" else self.method

    @property
    def tokens_per_step(self) -> float:
        """Expected tokens each sequence emits per step (1 without speculation)."""
        k, a = self.draft_tokens, self.acceptance_frac
        if k == 0:
            return 1.0
        if self.accepted_tokens:
            return float(self.accepted_tokens)
        return float(k + 1) if a >= 1 else (1 - a ** (k + 1)) / (1 - a)

    def draft_params(self, m: ModelSpec) -> float:
        """Parameters one draft pass works through: its own layer and the shared LM head."""
        if self.method == "eagle3":   # one dense decoder layer at the target's width (EAGLE-3, sec. 3)
            ffn = m.dense_ffn_dim or 4 * m.d_model
            layer = 4 * m.d_model ** 2 + 3 * m.d_model * ffn   # q, k, v, o; gate, up, down
        else:                         # an MTP module: one layer of the target's own shape
            layer = P.active_params(m) / m.n_layers
        return layer + P.lm_head_params(m)

    def draft_s(self, m: ModelSpec, step_s):
        """Time of the k draft passes (see module docstring)."""
        if not self.draft_tokens:
            return 0.0 * step_s
        return self.draft_tokens * step_s * self.draft_params(m) / P.active_params(m)


NONE = Speculation()
MTP_ONE_DRAFT = Speculation(1, MTP_ACCEPTANCE_FRAC, "mtp")   # what servecost assumes for a model's MTP heads
MTP_THREE_DRAFTS = Speculation(3, MTP_ACCEPTANCE_FRAC, "mtp", MTP3_ACCEPTED_TOKENS)
EAGLE3 = Speculation(EAGLE3_DRAFT_TOKENS, 0.0, "eagle3", EAGLE3_ACCEPTED_TOKENS)
METHODS = {"none": NONE, "mtp1": MTP_ONE_DRAFT, "mtp3": MTP_THREE_DRAFTS, "eagle3": EAGLE3}
CHOICES = ("auto",) + tuple(METHODS)


def check(method: str) -> str:
    """A validated --speculation value."""
    key = (method or "auto").strip().lower()
    if key not in CHOICES:
        raise InputError(f"speculation={method!r} is not known; use one of {', '.join(CHOICES)}"
                         f"{suggest(key, CHOICES)}")
    return key


def defaults(m: ModelSpec, method: str = "auto") -> list[Speculation]:
    """The speculation settings searched for `m`: with 'auto', none and MTP with one and three drafts
    when the model ships MTP heads, EAGLE-3 where a head for it is published; else none and the one
    named (MTP needs the model's heads)."""
    key = check(method)
    if key == "auto":
        if m.mtp_layers:
            return [NONE, MTP_ONE_DRAFT, MTP_THREE_DRAFTS]
        return [NONE, EAGLE3] if m.id in EAGLE3_HEADS else [NONE]
    if key.startswith("mtp") and not m.mtp_layers:
        raise InputError(f"speculation={key}: {m.id} ships no MTP heads; use eagle3 (a draft model) or none")
    return [NONE] if key == "none" else [NONE, METHODS[key]]
