"""Segmented attention (packed attempts on a shared prefix) against plain attention with
the equivalent mask: each segment sees the prefix and its own earlier tokens only."""

import pytest
import torch
import torch.nn.functional as F

from sdpo_cli.train.segmented_attention import SegmentedAttention, segmented_attention

PREFIX, HEADS, KV_HEADS, DIM = 5, 4, 2, 8
SPANS = [(0, 3), (3, 4), (4, 11)]  # lengths 3, 1, 7


def reference_mask(spans, prefix, window=None):
    """[N, P + N]: the mask one attention call over the whole packed sequence needs, entry
    by entry: a query sees the prefix and its own segment's tokens up to itself, at most
    `window` positions back (positions restart after the prefix in every segment)."""
    total = spans[-1][1]
    mask = torch.zeros(total, prefix + total, dtype=torch.bool)
    for start, end in spans:
        for i in range(start, end):
            query_position = prefix + i - start
            for key in range(prefix + total):
                if key < prefix:
                    key_position = key
                elif start <= key - prefix <= i:
                    key_position = key - start
                else:
                    continue
                mask[i, key] = window is None or query_position - key_position < window
    return mask


def inputs(dtype, seed=0):
    generator = torch.Generator().manual_seed(seed)
    total = SPANS[-1][1]
    make = lambda *shape: torch.randn(*shape, generator=generator).to(dtype).requires_grad_()  # noqa: E731
    return (
        make(1, HEADS, total, DIM),
        make(1, KV_HEADS, PREFIX + total, DIM),
        make(1, KV_HEADS, PREFIX + total, DIM),
        torch.randn(1, HEADS, total, DIM, generator=generator),
    )


def outputs_and_grads(attend, q, k, v, grad):
    for t in (q, k, v):
        t.grad = None
    out = attend(q, k, v)
    out.backward(grad.to(out.dtype))
    return out.detach().float(), [t.grad.float() for t in (q, k, v)]


@pytest.mark.parametrize("window", [None, 4])
def test_equals_attention_with_the_block_mask_in_fp32(window):
    q, k, v, grad = inputs(torch.float32)
    mask = reference_mask(SPANS, PREFIX, window)
    want, want_grads = outputs_and_grads(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True),
        q,
        k,
        v,
        grad,
    )
    got, got_grads = outputs_and_grads(
        lambda q, k, v: SegmentedAttention.apply(q, k, v, SPANS, DIM**-0.5, window), q, k, v, grad
    )
    assert torch.allclose(got, want, atol=1e-5)
    for name, a, b in zip("qkv", got_grads, want_grads):
        assert torch.allclose(a, b, atol=1e-5), name
    # the prefix's keys collect gradient from every segment, each segment's only from its own
    assert k.grad[0, :, :PREFIX].abs().sum() > 0


def test_a_segment_does_not_see_another():
    q, k, v, _ = inputs(torch.float32)
    base = SegmentedAttention.apply(q, k, v, SPANS, DIM**-0.5, None).detach()
    with torch.no_grad():
        k[0, :, PREFIX + 0 : PREFIX + 3] += 10.0  # the first segment's keys only
    moved = SegmentedAttention.apply(q, k, v, SPANS, DIM**-0.5, None).detach()
    assert not torch.allclose(moved[:, :, 0:3], base[:, :, 0:3])
    assert torch.equal(moved[:, :, 3:], base[:, :, 3:])


def test_bf16_gradient_error_is_within_twice_torchs_own():
    q, k, v, grad = inputs(torch.float32, seed=1)
    mask = reference_mask(SPANS, PREFIX)
    plain = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)  # noqa: E731
    exact = outputs_and_grads(plain, q, k, v, grad)[1]
    low = [t.detach().to(torch.bfloat16).requires_grad_() for t in (q, k, v)]
    ours = outputs_and_grads(
        lambda q, k, v: SegmentedAttention.apply(q, k, v, SPANS, DIM**-0.5, None), *low, grad
    )[1]
    torchs = outputs_and_grads(plain, *low, grad)[1]

    def error(grads):
        return max(float((a - b).norm() / b.norm()) for a, b in zip(grads, exact))

    assert error(ours) < max(2 * error(torchs), 0.02)


def test_interface_returns_tokens_first_and_refuses_what_it_does_not_do():
    q, k, v, _ = inputs(torch.float32)
    out, weights = segmented_attention(None, q, k, v, None, scaling=DIM**-0.5, segments=SPANS)
    assert out.shape == (1, SPANS[-1][1], HEADS, DIM) and weights is None
    with pytest.raises(ValueError):
        segmented_attention(None, q, k, v, None)
    with pytest.raises(NotImplementedError):
        segmented_attention(None, q, k, v, None, dropout=0.1, segments=SPANS)
