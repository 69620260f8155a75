"""A prompt prefix's forward pass, run once for all the attempts of a round.

Every attempt of a round answers the same question, so the student's context differs
only in the response, and the teacher's contexts share the question (and the feedback
header) before each attempt's own feedback. The common prefix, all but its last token,
is run once and its key/value cache is cut off the graph as leaf tensors; each attempt
then runs as one segment on top of it: the prefix's last token, the attempt's rest of
the prompt (the part after the prefix), its response. Repeating that one token per
attempt gives every logit that predicts a response token out of the packed pass itself,
in order, so the prefix's pass needs no output head. With gradients on, `backward()`
sends the gradient the leaves collected back through the prefix's graph in one pass: the
exact gradient of the full-sequence forward, without repeating the prefix's forward and
backward per attempt (bench/RESULTS.md, 'Cost of an SDPO round'). The probe's
log-probs (`mean_response_logprobs`) take the same passes.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache

from .policy import kept_positions
from .segmented_attention import segmented_attention_on


def common_prefix_length(prompts: list[list[int]]) -> int:
    """How many tokens all prompts begin with."""
    first = prompts[0]
    length = min(len(p) for p in prompts)
    for prompt in prompts[1:]:
        same = 0
        while same < length and prompt[same] == first[same]:
            same += 1
        length = same
    return length


class SharedPrompt:
    def __init__(self, policy, prefix_ids: list[int]):
        self.policy, self.device = policy, policy.device
        self.prefix = list(prefix_ids)
        if not self.prefix:
            raise ValueError("a shared prefix needs at least one token")
        self._roots, self._leaves = [], []
        if len(self.prefix) > 1:
            # no output head: every logit needed comes from the packed segments
            out = policy.forward(
                input_ids=torch.tensor([self.prefix[:-1]], device=self.device),
                use_cache=True,
                logits_to_keep=kept_positions([], self.device),
            )
            cache = out.past_key_values
            self._roots = [t for layer in cache.layers for t in (layer.keys, layer.values)]
            # a root that no trainable weight reaches (the first layer's keys and values when
            # the adapter leaves its projections alone) stays a plain tensor: no graph to run
            self._leaves = [t.detach().requires_grad_(t.requires_grad) for t in self._roots]

    def response_logits(
        self, responses: list[list[int]], prompts: list[list[int]] | None = None
    ) -> torch.Tensor:
        """Logits [R, V] predicting each response token, the attempts' responses one after
        another (R tokens in all). `prompts`: each attempt's full prompt, which begins with
        the prefix (default: the prefix itself). Each attempt is one segment of a packed
        sequence on the cache of the prefix's first tokens (train/segmented_attention.py):
        the prefix's last token, the attempt's rest of the prompt, its response; only the
        positions that predict a response token go through the output head."""
        length = len(self.prefix)
        rests = [p[length:] for p in prompts] if prompts is not None else [[] for _ in responses]
        if prompts is not None and any(p[:length] != self.prefix for p in prompts):
            raise ValueError("every prompt must begin with the shared prefix")
        ids, positions, spans, keep = [], [], [], []
        for rest, response in zip(rests, responses):
            if not response:
                continue
            start = len(ids)
            ids += self.prefix[-1:] + rest + response
            positions += range(length - 1, length - 1 + len(ids) - start)
            spans.append((start, len(ids)))
            # the positions that predict the response: from the segment's last prompt token on
            keep += range(start + len(rest), len(ids) - 1)
        if not ids:
            return torch.empty(0, self.policy.model.config.vocab_size, device=self.device)
        cache = None
        if self._leaves:
            cache = DynamicCache(config=self.policy.model.config)
            for layer in range(len(self._leaves) // 2):
                cache.update(self._leaves[2 * layer], self._leaves[2 * layer + 1], layer)
        with segmented_attention_on(self.policy.model):
            out = self.policy.forward(
                input_ids=torch.tensor([ids], device=self.device),
                position_ids=torch.tensor([positions], device=self.device),
                past_key_values=cache,
                use_cache=cache is not None,
                segments=spans,
                logits_to_keep=kept_positions(keep, self.device),
            )
        return out.logits[0]

    def backward(self) -> None:
        """Back-propagate the gradient collected on the prefix's cache through its graph."""
        pairs = [
            (root, leaf.grad)
            for root, leaf in zip(self._roots, self._leaves)
            if leaf.grad is not None
        ]
        if pairs:
            torch.autograd.backward([r for r, _ in pairs], [g for _, g in pairs])
        self._roots = self._leaves = []


@torch.no_grad()
def mean_response_logprobs(
    policy, prompts: list[list[int]], responses: list[list[int]]
) -> list[float]:
    """Mean per-token log-prob of each response given its prompt, under the active
    adapter, through the same packed passes as training: the responses of each distinct
    prompt run as segments on that prompt's cache."""
    from .loss import row_logsumexp, token_log_probs

    means: list[float | None] = [None] * len(responses)
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, prompt in enumerate(prompts):
        groups.setdefault(tuple(prompt), []).append(index)
    for prompt, indices in groups.items():
        kept = [i for i in indices if responses[i]]
        logits = SharedPrompt(policy, list(prompt)).response_logits([responses[i] for i in kept])
        ids = torch.tensor([t for i in kept for t in responses[i]], device=policy.device)
        logp, start = token_log_probs(logits, ids, row_logsumexp(logits)).tolist(), 0
        for i in kept:
            means[i] = sum(logp[start : start + len(responses[i])]) / len(responses[i])
            start += len(responses[i])
    return [0.0 if m is None else m for m in means]
