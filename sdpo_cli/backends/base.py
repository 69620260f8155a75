"""The sampler protocol and the records it returns. No torch here (the scripted sampler
and the CLI import this module)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

from ..config import SamplingConfig


@dataclass
class Completion:
    """One sampled attempt."""

    text: str
    token_ids: list[int]
    logprobs: list[float] | None  # the sampler's log-prob of each sampled token (raw, untempered)
    finish_reason: str  # "stop" or "length" (= truncated)
    prompt_tokens: int

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Sampler(Protocol):
    name: str

    def sample(self, prompt_ids: list[int], n: int, params: SamplingConfig, seed: int) -> list[Completion]:
        """N attempts continuing the prompt (token ids, chat template applied)."""

    def sample_each(self, prompts: list[list[int]], params: SamplingConfig, seed: int) -> list[Completion]:
        """One attempt per prompt, batched (the prompts may differ in length)."""

    def sync(self, policy: Any) -> dict[str, float] | None:
        """Serve the policy's current weights; return sync metrics (seconds, parity)."""

    def close(self) -> None:
        """Free the engine."""
