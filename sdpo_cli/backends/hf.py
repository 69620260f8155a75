"""transformers sampler on the policy itself: batched, with KV cache, no weight sync.

Each call decodes with the student adapter merged into the base weights (`Policy.merged`:
the same model object, its LoRA branches switched off for the call), so sampling costs
what the plain model costs; generating through the LoRA branches ran at about 0.6x that
speed (bench/RESULTS.md). The decode loop is ours rather than `generate`: it
keeps only the sampled tokens' log-probs (not every step's full logits) and draws tokens
by inverse CDF from a private generator (torch.multinomial spent a fifth of each step
drawing exponentials over the 49k-token vocabulary).

Log-probs are those of the distribution each token was drawn from: the tempered logits,
truncated to the nucleus and renormalised (vLLM's `processed_logprobs`), so the importance
weight compares like with like (docs/method.md, "Temperature and truncation").
"""

from __future__ import annotations

import torch
from transformers import DynamicCache

from ..config import SamplingConfig
from ..train.loss import outside_nucleus
from ..train.merged import merged
from ..train.policy import kept_positions
from .base import Completion


def draw(
    logits: torch.Tensor, params: SamplingConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One token per row from the tempered, nucleus-truncated distribution (argmax at
    temperature 0), and its log-prob under that distribution (renormalised over the
    nucleus; at temperature 0, under the untempered logits)."""
    if params.temperature <= 0:
        token = logits.argmax(-1)
        return token, torch.log_softmax(logits, -1).gather(-1, token[:, None]).squeeze(-1)
    probs = torch.softmax(logits / params.temperature, -1)
    order = None
    if params.top_p < 1.0:
        probs, order = probs.sort(-1, descending=True)
        probs = probs.masked_fill(outside_nucleus(probs, params.top_p), 0.0)
    cdf = probs.cumsum(-1)
    u = torch.rand(cdf.shape[0], 1, generator=generator, device=cdf.device) * cdf[:, -1:]
    picked = torch.searchsorted(cdf, u, right=True).clamp(max=cdf.shape[-1] - 1)
    logp = (probs.gather(-1, picked) / cdf[:, -1:]).log().squeeze(-1)
    picked = picked.squeeze(-1)
    return (picked if order is None else order.gather(-1, picked[:, None]).squeeze(-1)), logp


class HFSampler:
    name = "hf"

    def __init__(self, policy):
        self.policy = policy

    @classmethod
    def from_policy(
        cls, policy, model_path: str, seed: int, parity_ids: list[int] | None
    ) -> "HFSampler":
        return cls(policy)

    def sample(
        self, prompt_ids: list[int], n: int, params: SamplingConfig, seed: int
    ) -> list[Completion]:
        return self.sample_each([prompt_ids] * n, params, seed)

    @torch.no_grad()
    def sample_each(
        self, prompts: list[list[int]], params: SamplingConfig, seed: int
    ) -> list[Completion]:
        """Left-padded batch decoding, one attempt per prompt."""
        device, pad, eos = (
            self.policy.device,
            self.policy.pad_id,
            self.policy.tokenizer.eos_token_id,
        )
        generator = torch.Generator(device=device).manual_seed(seed)
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        done = torch.zeros(len(prompts), dtype=torch.bool, device=device)
        tokens, logps = [], []
        with merged(self.policy) as model:
            cache = DynamicCache(config=model.config)
            logits = (
                model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=positions,
                    past_key_values=cache,
                    use_cache=True,
                    logits_to_keep=kept_positions([width - 1], device),
                )
                .logits[:, -1]
                .float()
            )
            step_positions = positions[:, -1:]
            for _ in range(params.max_new_tokens):
                token, logp = draw(logits, params, generator)
                token = token.masked_fill(done, pad)
                tokens.append(token)
                logps.append(logp)
                done |= token == eos
                if bool(done.all()) or len(tokens) == params.max_new_tokens:
                    break
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
                step_positions = step_positions + 1
                logits = (
                    model(
                        input_ids=token[:, None],
                        attention_mask=mask,
                        position_ids=step_positions,
                        past_key_values=cache,
                        use_cache=True,
                    )
                    .logits[:, -1]
                    .float()
                )
        return self._completions(prompts, torch.stack(tokens, 1), torch.stack(logps, 1), eos)

    def _completions(
        self, prompts: list[list[int]], tokens: torch.Tensor, logps: torch.Tensor, eos: int
    ) -> list[Completion]:
        completions = []
        for row, prompt in enumerate(prompts):
            ids = tokens[row].tolist()
            cut, reason = (ids.index(eos) + 1, "stop") if eos in ids else (len(ids), "length")
            text = self.policy.tokenizer.decode(ids[:cut], skip_special_tokens=True)
            completions.append(
                Completion(text, ids[:cut], logps[row, :cut].tolist(), reason, len(prompt))
            )
        return completions

    def sync(self, policy, check: bool = True) -> dict[str, float] | None:
        return None  # samples from the trained model directly

    def close(self) -> None:
        pass
