"""Speculative decoding / multi-token prediction: k drafted tokens verified in one step.

With each drafted token accepted independently with probability a, a step emits on average
    E = (1 - a^(k+1)) / (1 - a)        tokens per sequence      (Leviathan et al. 2023, eq. 1)
and costs one verification step over k+1 query tokens plus k draft passes. An MTP module is one
transformer layer with the model's shapes, so a draft pass costs about 1/L of a decode step.
"""

from dataclasses import dataclass

from .models import ModelSpec

# DeepSeek-V3 technical report (arXiv:2412.19437, sec. 5.4.3): "the acceptance rate of the second
# token prediction ranges between 85% and 90%" with one MTP module. Used as the default for every
# catalogue model that ships MTP heads; other models' own rates are not published (an assumption).
MTP_ACCEPTANCE_FRAC = 0.85


@dataclass(frozen=True)
class Speculation:
    draft_tokens: int = 0           # k; 0 = plain decoding
    acceptance_frac: float = 0.0    # a, per drafted token

    @property
    def tokens_per_step(self) -> float:
        """Expected tokens each sequence emits per step (1 without speculation)."""
        k, a = self.draft_tokens, self.acceptance_frac
        if k == 0:
            return 1.0
        return float(k + 1) if a >= 1 else (1 - a ** (k + 1)) / (1 - a)

    def draft_s(self, m: ModelSpec, step_s):
        """Time of the k draft passes, each about one layer of the decode step."""
        return self.draft_tokens * step_s / m.n_layers


NONE = Speculation()
MTP_ONE_DRAFT = Speculation(1, MTP_ACCEPTANCE_FRAC)   # what servecost assumes for a model's MTP heads


def defaults(m: ModelSpec) -> list[Speculation]:
    """The speculation settings searched for `m`: none, and MTP with one draft token when it ships MTP
    heads (the published acceptance is for one draft; deeper drafts reuse the module and accept less)."""
    if not m.mtp_layers:
        return [NONE]
    return [NONE, MTP_ONE_DRAFT]
