"""The student prompt's forward pass, run once for all the attempts of a round.

Every attempt of a round answers the same question, so the student's context differs
only in the response. The prompt is run once (with its autograd graph), its key/value
cache and last-position logits are cut off the graph as leaf tensors, each attempt's
response runs on top of them, and `backward()` sends the gradient the leaves collected
back through the prompt's graph in one pass. The result is the exact gradient of the
full-sequence forward, without repeating the prompt's forward and backward per attempt
(bench/RESULTS.md, 'Cost of an SDPO round').
"""

from __future__ import annotations

import torch
from transformers import DynamicCache


class SharedPrompt:
    def __init__(self, policy, prompt_ids: list[int]):
        self.policy, self.pad_id, self.device = policy, policy.pad_id, policy.device
        self.length = len(prompt_ids)
        out = policy.forward(input_ids=torch.tensor([prompt_ids], device=self.device), use_cache=True,
                             logits_to_keep=1)
        cache = out.past_key_values
        self._roots = [t for layer in cache.layers for t in (layer.keys, layer.values)] + [out.logits]
        grad = torch.is_grad_enabled()
        self._leaves = [t.detach().requires_grad_(grad) for t in self._roots]

    def response_logits(self, responses: list[list[int]]) -> torch.Tensor:
        """Logits [B, T, V] predicting each response token after the shared prompt
        (responses right-padded to the longest)."""
        width = max(max(len(r) for r in responses), 1)
        batch = len(responses)
        ids = torch.tensor([r + [self.pad_id] * (width - len(r)) for r in responses], device=self.device)
        mask = torch.tensor([[1] * (self.length + len(r)) + [0] * (width - len(r)) for r in responses],
                            device=self.device)
        positions = torch.arange(self.length, self.length + width, device=self.device).expand(batch, -1)
        cache = DynamicCache(config=self.policy.model.config)
        *kv, last_logits = self._leaves
        for layer in range(len(kv) // 2):
            keys, values = kv[2 * layer], kv[2 * layer + 1]
            cache.update(keys.expand(batch, -1, -1, -1), values.expand(batch, -1, -1, -1), layer)
        out = self.policy.forward(input_ids=ids, attention_mask=mask, position_ids=positions,
                                  past_key_values=cache, use_cache=True)
        return torch.cat([last_logits.expand(batch, -1, -1), out.logits[:, :-1, :]], dim=1)

    def backward(self) -> None:
        """Back-propagate the gradient collected on the prompt's outputs through its graph."""
        pairs = [(root, leaf.grad) for root, leaf in zip(self._roots, self._leaves) if leaf.grad is not None]
        if pairs:
            torch.autograd.backward([r for r, _ in pairs], [g for _, g in pairs])
        self._roots = self._leaves = []
