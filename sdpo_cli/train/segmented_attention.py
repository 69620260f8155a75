"""Attention for packed attempts that share a prompt prefix, with no padding.

The training passes run a round's attempts on top of one cached prefix (the question;
train/shared_prompt.py). Instead of padding the attempts to a common length in a batch,
they are laid end to end in ONE sequence of segments; each segment (an attempt's rest of
the prompt and its response) attends to the whole prefix and, causally, to its own
earlier tokens, never to another segment. That is the same function as each attempt run
alone after the prefix, without the padded positions, and with every linear layer
running once on all the round's tokens instead of once per padded micro-batch: on the
2-core CPU most of a small model's pass is per-call overhead, not arithmetic
(bench/RESULTS.md, 'Cost of an SDPO round').

The forward runs the library's scaled-dot-product attention per segment. The backward is
written out with batched matrix products per segment (key/value heads batched, their
query heads grouped), recomputing the attention weights: on the CPU torch's
flash-attention backward costs about 3x as much for segments of up to ~200 tokens and
1.4x at 384 (bench/RESULTS.md).

Used through transformers' attention interface: `segmented_attention_on(model)` selects
it for the passes inside, and the model call gets `segments=[(start, end), ...]` (spans
of the packed sequence); the keys and values it receives are the prefix's cache followed
by the packed sequence's own. Attention dropout and logit soft-capping are not supported
(the training passes have neither); a sliding window is honoured.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F

NAME = "sdpo_segmented"


def segment_mask(length: int, prefix: int, window: int | None, device) -> torch.Tensor:
    """[length, prefix + length] booleans: query i (at position prefix + i) sees the prefix
    and its own segment up to itself, and with a sliding window only the last `window`
    positions."""
    mask = torch.ones(length, prefix + length, dtype=torch.bool, device=device).tril(prefix)
    if window is not None:
        mask &= ~torch.ones_like(mask).tril(prefix - window)
    return mask


class SegmentedAttention(torch.autograd.Function):
    """query [1, H, N, D]; key, value [1, Hkv, P + N, D] (P prefix positions, then the N
    packed ones); spans (start, end) of the N. Returns [1, H, N, D]."""

    @staticmethod
    def forward(ctx, query, key, value, spans, scaling: float, window: int | None):
        prefix = key.shape[2] - query.shape[2]
        out = torch.zeros_like(query)
        for start, end in spans:
            mask = segment_mask(end - start, prefix, window, query.device)
            keys, values = _segment(key, prefix, start, end), _segment(value, prefix, start, end)
            out[:, :, start:end] = F.scaled_dot_product_attention(
                query[:, :, start:end], keys, values, attn_mask=mask, scale=scaling, enable_gqa=True
            )
        ctx.save_for_backward(query, key, value, out)
        ctx.spans, ctx.scaling, ctx.window = spans, scaling, window
        return out

    @staticmethod
    def backward(ctx, grad_out):
        query, key, value, out = ctx.saved_tensors
        prefix = key.shape[2] - query.shape[2]
        grad_q = torch.zeros_like(query)
        grad_k, grad_v = torch.zeros_like(key), torch.zeros_like(value)
        for start, end in ctx.spans:
            mask = segment_mask(end - start, prefix, ctx.window, query.device)
            dq, dk, dv = _segment_backward(
                query[0, :, start:end],
                _segment(key, prefix, start, end)[0],
                _segment(value, prefix, start, end)[0],
                out[0, :, start:end],
                grad_out[0, :, start:end],
                mask,
                ctx.scaling,
            )
            grad_q[0, :, start:end] = dq
            for grad, part in ((grad_k, dk), (grad_v, dv)):
                grad[0, :, :prefix] += part[:, :prefix]
                grad[0, :, prefix + start : prefix + end] = part[:, prefix:]
        return grad_q, grad_k, grad_v, None, None, None


def _segment(states: torch.Tensor, prefix: int, start: int, end: int) -> torch.Tensor:
    """The prefix's keys (or values) followed by one segment's."""
    return torch.cat([states[:, :, :prefix], states[:, :, prefix + start : prefix + end]], dim=2)


def _segment_backward(q, k, v, o, grad_o, mask, scaling):
    """Gradients of one segment's attention. q, o, grad_o [H, L, D]; k, v [Hkv, S, D]; mask
    [L, S]. Query heads are grouped by the key/value head they share, so every product
    is one batched matrix product over the Hkv heads. Scores and weights in fp32."""
    heads, length, dim = q.shape
    kv_heads, width = k.shape[0], k.shape[1]
    group = heads // kv_heads

    def grouped(x):  # [H, L, D] -> [Hkv, group * L, D]
        return x.reshape(kv_heads, group * length, dim)

    q, o, grad_o = grouped(q), grouped(o), grouped(grad_o)
    scores = torch.bmm(q, k.transpose(1, 2)).float().mul_(scaling)
    scores.view(kv_heads, group, length, width).masked_fill_(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    grad_v = torch.bmm(weights.to(v.dtype).transpose(1, 2), grad_o)
    # d(scores) = weights * (d(weights) - rowsum(grad_o * o)), the softmax backward
    row = (grad_o.float() * o.float()).sum(-1, keepdim=True)
    grad_scores = (
        torch.bmm(grad_o, v.transpose(1, 2))
        .float()
        .sub_(row)
        .mul_(weights)
        .mul_(scaling)
        .to(q.dtype)
    )
    grad_q = torch.bmm(grad_scores, k).reshape(heads, length, dim)
    grad_k = torch.bmm(grad_scores.transpose(1, 2), q)
    return grad_q, grad_k, grad_v


def segmented_attention(
    module,
    query,
    key,
    value,
    attention_mask,
    dropout: float = 0.0,
    scaling=None,
    segments=None,
    sliding_window=None,
    softcap=None,
    **kwargs,
):
    """transformers' attention-interface signature; returns ([1, N, H, D], None)."""
    if segments is None:
        raise ValueError("segmented attention needs the packed sequence's `segments`")
    if dropout or softcap:
        raise NotImplementedError(
            "segmented attention has no attention dropout or logit soft-capping"
        )
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    out = SegmentedAttention.apply(query, key, value, segments, scale, sliding_window)
    return out.transpose(1, 2), None


@contextmanager
def segmented_attention_on(model):
    """Model passes inside use segmented attention (and build no attention mask)."""
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, segmented_attention)
    config = model.config
    previous = config._attn_implementation
    config._attn_implementation = NAME
    try:
        yield
    finally:
        config._attn_implementation = previous
