"""A prompt prefix's forward pass, run once for all the attempts of a round.

Every attempt of a round answers the same question, so the student's context differs
only in the response, and the teacher's contexts share the question (and the feedback
header) before each attempt's own feedback. The common prefix is run once, its key/value
cache and last-position logits are cut off the graph as leaf tensors, and each attempt's
rest (the part of its prompt after the prefix, then its response) runs on top of them.
With gradients on, `backward()` sends the gradient the leaves collected back through the
prefix's graph in one pass: the exact gradient of the full-sequence forward, without
repeating the prefix's forward and backward per attempt (bench/RESULTS.md, 'Cost of an
SDPO round').
"""

from __future__ import annotations

import torch
from transformers import DynamicCache

from .policy import pack


def common_prefix_length(prompts: list[list[int]]) -> int:
    """How many tokens all prompts begin with, one fewer where some prompt would be all
    prefix while others are longer: either every prompt equals the prefix or every one
    extends it by at least one token (the logits that predict its first response token
    then come from its own last prompt token)."""
    first = prompts[0]
    length = min(len(p) for p in prompts)
    for prompt in prompts[1:]:
        same = 0
        while same < length and prompt[same] == first[same]:
            same += 1
        length = same
    if any(len(p) != length for p in prompts) and any(len(p) == length for p in prompts):
        length -= 1
    return length


class SharedPrompt:
    def __init__(self, policy, prefix_ids: list[int]):
        self.policy, self.pad_id, self.device = policy, policy.pad_id, policy.device
        self.prefix = list(prefix_ids)
        if not self.prefix:
            raise ValueError("a shared prefix needs at least one token")
        out = policy.forward(input_ids=torch.tensor([self.prefix], device=self.device), use_cache=True,
                             logits_to_keep=1)
        cache = out.past_key_values
        self._roots = [t for layer in cache.layers for t in (layer.keys, layer.values)] + [out.logits]
        # a root that no trainable weight reaches (the first layer's keys and values when the
        # adapter leaves its projections alone) stays a plain tensor: it has no graph to run
        self._leaves = [t.detach().requires_grad_(t.requires_grad) for t in self._roots]

    def response_logits(self, responses: list[list[int]], prompts: list[list[int]] | None = None
                        ) -> torch.Tensor:
        """Logits [B, T, V] predicting each response token (responses right-padded to the
        longest). `prompts`: each attempt's full prompt, which begins with the prefix
        (default: the prefix itself). The rests of the prompts and the responses are laid
        out by `pack` (rests left-padded), so that the responses share one slice."""
        length = len(self.prefix)
        rests = [p[length:] for p in prompts] if prompts is not None else [[] for _ in responses]
        if prompts is not None and any(p[:length] != self.prefix for p in prompts):
            raise ValueError("every prompt must begin with the shared prefix")
        rest_width = max(len(r) for r in rests)
        if rest_width and not all(rests):
            raise ValueError("prompts must all equal the prefix or all extend it (common_prefix_length)")
        packed = pack(rests, responses, self.pad_id, self.device)
        batch, width = packed.response_ids.shape
        attention = torch.cat([torch.ones(batch, length, dtype=packed.attention_mask.dtype, device=self.device),
                               packed.attention_mask], dim=1)
        cache = DynamicCache(config=self.policy.model.config)
        *kv, last_logits = self._leaves
        for layer in range(len(kv) // 2):
            keys, values = kv[2 * layer], kv[2 * layer + 1]
            cache.update(keys.expand(batch, -1, -1, -1), values.expand(batch, -1, -1, -1), layer)
        out = self.policy.forward(input_ids=packed.input_ids, attention_mask=attention,
                                  position_ids=packed.position_ids + length, past_key_values=cache, use_cache=True)
        if rest_width:
            return out.logits[:, rest_width - 1:rest_width - 1 + width, :]
        return torch.cat([last_logits.expand(batch, -1, -1), out.logits[:, :-1, :]], dim=1)

    def backward(self) -> None:
        """Back-propagate the gradient collected on the prefix's outputs through its graph."""
        pairs = [(root, leaf.grad) for root, leaf in zip(self._roots, self._leaves) if leaf.grad is not None]
        if pairs:
            torch.autograd.backward([r for r, _ in pairs], [g for _, g in pairs])
        self._roots = self._leaves = []


class SharedTeacher:
    """The teacher's forward passes over a round (no gradient): the common prefix of the
    round's teacher prompts runs once under each set of weights the teacher needs
    (`policy.teacher_views`), each attempt's rest and response on top of it. The teacher
    prompts share the question and the feedback header; on the embedded model that is
    about half of each prompt."""

    def __init__(self, policy, prompts: list[list[int]]):
        self.policy = policy
        prefix = prompts[0][:common_prefix_length(prompts)]
        with torch.no_grad():
            self.shared = {}
            for view in policy.teacher_views():
                with policy.adapter(view):
                    self.shared[view] = SharedPrompt(policy, prefix)

    @torch.no_grad()
    def response_logits(self, responses: list[list[int]], prompts: list[list[int]]) -> torch.Tensor:
        logits = []
        for view, shared in self.shared.items():
            with self.policy.adapter(view):
                logits.append(shared.response_logits(responses, prompts))
        return self.policy.combine_teacher(logits)
