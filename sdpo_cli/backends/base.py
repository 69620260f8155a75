"""The sampler protocol and the records it returns. No torch here (the scripted sampler
and the CLI import this module)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

from ..config import SamplingConfig
from ..errors import SdpoError

# Parity between the sampler and the trainer: the mean absolute difference per token of
# their log-probs of the same tokens. Measured on the embedded model in bf16 (bench/
# RESULTS.md): the vLLM sampler's own samples show 0.03-0.04 against the trainer; a fixed
# chat prompt plus a few decoded tokens 0.06-0.10 (the two stacks' bf16 kernels round
# differently); a sampler left on the weights before even a small adapter change (LoRA B
# ~ N(0, 0.01)) about 0.6. The check catches a sampler serving the wrong weights, not
# bf16 rounding.
PARITY_TOLERANCE = 0.2


class ParityError(SdpoError):
    """The sampler is not serving the policy being trained."""


def check_parity(gap: float, what: str) -> None:
    if gap > PARITY_TOLERANCE:
        raise ParityError(
            f"sampler and trainer disagree on {what}: mean |logp gap| {gap:.3f} per token "
            f"> {PARITY_TOLERANCE}",
            hint="the sampler is not serving the trained policy; try --backend hf",
        )


@dataclass
class Completion:
    """One sampled attempt."""

    text: str
    token_ids: list[int]
    # each sampled token's log-prob under the distribution it was drawn from
    logprobs: list[float] | None
    finish_reason: str  # "stop" or "length" (= truncated)
    prompt_tokens: int

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Sampler(Protocol):
    name: str

    def sample(
        self, prompt_ids: list[int], n: int, params: SamplingConfig, seed: int
    ) -> list[Completion]:
        """N attempts continuing the prompt (token ids, chat template applied)."""

    def sample_each(
        self, prompts: list[list[int]], params: SamplingConfig, seed: int
    ) -> list[Completion]:
        """One attempt per prompt, batched (the prompts may differ in length)."""

    def sync(self, policy: Any, check: bool = True) -> dict[str, float] | None:
        """Serve the policy's current weights; return sync metrics (seconds, parity).
        `check`: test parity on a fixed sequence now (the SDPO loop skips this, because
        every update tests parity on the round's own samples instead)."""

    def close(self) -> None:
        """Free the engine."""
