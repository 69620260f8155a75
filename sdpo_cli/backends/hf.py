"""transformers `generate` on the PEFT policy itself: batched, with KV cache, no weight sync.

Log-probs are taken from the raw (untempered) logits of the sampled tokens, like vLLM's
default, so the importance weight compares like with like.
"""

from __future__ import annotations

import torch

from ..config import SamplingConfig
from .base import Completion


class HFSampler:
    name = "hf"

    def __init__(self, policy):
        self.policy = policy

    @classmethod
    def from_policy(cls, policy, model_path: str, seed: int, parity_ids: list[int] | None) -> "HFSampler":
        return cls(policy)

    def sample(self, prompt_ids: list[int], n: int, params: SamplingConfig, seed: int) -> list[Completion]:
        return self.sample_each([prompt_ids] * n, params, seed)

    @torch.no_grad()
    def sample_each(self, prompts: list[list[int]], params: SamplingConfig, seed: int) -> list[Completion]:
        """Left-padded batch generation, one attempt per prompt."""
        model, tokenizer = self.policy.model, self.policy.tokenizer
        torch.manual_seed(seed)
        width = max(len(p) for p in prompts)
        pad = self.policy.pad_id
        inputs = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.policy.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.policy.device)
        n = len(prompts)
        greedy = params.temperature <= 0
        out = model.generate(
            input_ids=inputs, attention_mask=mask, do_sample=not greedy,
            temperature=None if greedy else params.temperature, top_p=None if greedy else params.top_p,
            top_k=None if greedy else 0, max_new_tokens=params.max_new_tokens,
            output_logits=True, return_dict_in_generate=True,
            pad_token_id=self.policy.pad_id, eos_token_id=tokenizer.eos_token_id)
        new = out.sequences[:, inputs.shape[1]:]
        logits = torch.stack(out.logits, dim=1).float()  # [n, steps, V]
        logps = torch.log_softmax(logits, -1).gather(-1, new.unsqueeze(-1)).squeeze(-1)
        eos = tokenizer.eos_token_id
        completions = []
        for row in range(n):
            ids = new[row].tolist()
            if eos in ids:
                cut, reason = ids.index(eos) + 1, "stop"
            else:
                cut, reason = len(ids), "length"
            ids = ids[:cut]
            text = tokenizer.decode(ids, skip_special_tokens=True)
            completions.append(Completion(text, ids, logps[row, :cut].tolist(), reason, len(prompts[row])))
        return completions

    def sync(self, policy) -> dict[str, float] | None:
        return None  # samples from the trained model directly

    def close(self) -> None:
        pass
