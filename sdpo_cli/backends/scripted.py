"""Deterministic fake sampler for tests: completions from a list (cycled, in call order)
or a function of (seed, position within the call, prompt token ids), which makes each
job's attempts independent of the order jobs run in.

Text is tokenised with the given tokenizer function when one is set (so training code
can consume the attempts), else each character becomes one token id. No torch.
"""

from __future__ import annotations

from typing import Callable, Sequence

from ..config import SamplingConfig
from ..seeds import stream_seed
from .base import Completion


class ScriptedSampler:
    name = "scripted"

    def __init__(
        self,
        script: Sequence[str] | Callable[[int, int, list[int]], str],
        tokenize: Callable[[str], list[int]] | None = None,
    ):
        self.script = script
        self.tokenize = tokenize or (lambda text: [ord(c) for c in text])
        self.calls = 0  # attempts produced so far: the index into the script
        self.synced_versions: list[int] = []

    @classmethod
    def from_policy(cls, policy, model_path: str, seed: int, parity_ids):
        from ..errors import UsageError

        raise UsageError(
            "the scripted backend is for tests and has no script here",
            hint="use --backend auto, vllm or hf",
        )

    def sample(
        self, prompt_ids: list[int], n: int, params: SamplingConfig, seed: int
    ) -> list[Completion]:
        out = []
        for position in range(n):
            if callable(self.script):
                text = self.script(seed, position, prompt_ids)
            else:
                text = self.script[self.calls % len(self.script)]
            self.calls += 1
            ids = self.tokenize(text)[: params.max_new_tokens]
            truncated = len(self.tokenize(text)) > params.max_new_tokens
            out.append(
                Completion(text, ids, None, "length" if truncated else "stop", len(prompt_ids))
            )
        return out

    def sample_each(
        self, prompts: list[list[int]], params: SamplingConfig, seed: int
    ) -> list[Completion]:
        return [
            self.sample(prompt, 1, params, stream_seed(seed, i))[0]
            for i, prompt in enumerate(prompts)
        ]

    def sync(self, policy, check: bool = True) -> dict[str, float] | None:
        self.synced_versions.append(getattr(policy, "version", 0))
        return None

    def close(self) -> None:
        pass
