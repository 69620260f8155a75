"""SDPO loss functions against hand-worked values on 2-3 token distributions."""

import math

import pytest
import torch

from sdpo_cli.train import loss as loss_module
from sdpo_cli.train.loss import (
    contrastive_target,
    divergence,
    importance_weights,
    log1mexp,
    nucleus_log_probs,
    row_logsumexp,
    sdpo_token_losses,
    tempered,
    token_log_probs,
    top_log_probs,
    topk_support,
)


def logp(*probs):
    return torch.tensor(probs, dtype=torch.float64).log()


P, Q = logp(0.5, 0.5), logp(0.25, 0.75)


def test_reverse_kl():
    # 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75)
    assert divergence(P, Q, 1.0).item() == pytest.approx(0.143841, abs=1e-6)


def test_forward_kl():
    # 0.25 ln(0.25/0.5) + 0.75 ln(0.75/0.5)
    assert divergence(P, Q, 0.0).item() == pytest.approx(0.130812, abs=1e-6)


def test_generalised_jsd_half():
    # M = (0.375, 0.625); 0.5 KL(p||M) + 0.5 KL(q||M) = 0.5 * 0.032269 + 0.5 * 0.035375
    assert divergence(P, Q, 0.5).item() == pytest.approx(0.033822, abs=1e-6)


def test_divergence_is_zero_for_equal_distributions():
    for alpha in (0.0, 0.3, 1.0):
        assert divergence(Q, Q, alpha).item() == pytest.approx(0.0, abs=1e-12)


def test_topk_with_tail_bucket():
    student, teacher = logp(0.5, 0.3, 0.2), logp(0.1, 0.6, 0.3)
    s1, t1 = topk_support(student, teacher, 1)
    assert s1.exp().tolist() == pytest.approx([0.5, 0.5]) and t1.exp().tolist() == pytest.approx(
        [0.1, 0.9]
    )
    # 0.5 ln(0.5/0.1) + 0.5 ln(0.5/0.9)
    assert divergence(s1, t1, 1.0).item() == pytest.approx(0.510826, abs=1e-6)
    s2, t2 = topk_support(student, teacher, 2)
    # two of three ids kept: the tail holds the third, so this equals the full KL
    assert divergence(s2, t2, 1.0).item() == pytest.approx(0.515682, abs=1e-6)


def test_token_losses_topk_zero_is_full_vocabulary():
    student, teacher = logp(0.5, 0.3, 0.2), logp(0.1, 0.6, 0.3)
    full = sdpo_token_losses(student[None, None], teacher[None, None], 1.0, topk=0)
    assert full.shape == (1, 1) and full.item() == pytest.approx(0.515682, abs=1e-6)


def test_tail_is_stable_when_topk_holds_nearly_everything():
    tail = log1mexp(torch.tensor([-1e-12, -1e-3, -5.0], dtype=torch.float64))
    assert torch.isfinite(tail).all()
    assert tail[1].item() == pytest.approx(math.log(1 - math.exp(-1e-3)), rel=1e-9)


def test_importance_weight_clipped_and_detached():
    train = torch.tensor([0.0, -1.0, -3.0], requires_grad=True)
    sampler = torch.tensor([-1.0, -1.0, -1.0])
    weights = importance_weights(train, sampler)
    assert weights.tolist() == pytest.approx([2.0, 1.0, math.exp(-2.0)])
    assert not weights.requires_grad


def test_gradient_flows_to_student_only():
    student = torch.tensor([[[0.2, -0.1, 0.4]]], requires_grad=True)
    teacher = torch.tensor([[[0.0, 0.5, -0.5]]], requires_grad=True)
    loss = sdpo_token_losses(
        torch.log_softmax(student, -1), torch.log_softmax(teacher, -1), 1.0, 2
    ).sum()
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def reference_token_losses(student_logits, teacher_logits, alpha, k):
    """The objective spelled out on full fp32 log-softmaxes, with autograd all the way."""
    student = torch.log_softmax(student_logits, -1)
    teacher = torch.log_softmax(teacher_logits, -1).detach()
    top, ids = student.topk(k, -1)
    teacher_top = teacher.gather(-1, ids)
    student_support = torch.cat([top, torch.log1p(-top.exp().sum(-1, keepdim=True))], -1)
    teacher_support = torch.cat(
        [teacher_top, torch.log1p(-teacher_top.exp().sum(-1, keepdim=True))], -1
    )
    return divergence(student_support, teacher_support, alpha)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_topk_losses_from_logits_match_the_full_log_softmax(monkeypatch, alpha):
    """Values and student gradient of the chunked top-K path equal the vocabulary-wide
    computation (several row chunks, float64)."""
    monkeypatch.setattr(loss_module, "ROWS_PER_CHUNK", 3)
    generator = torch.Generator().manual_seed(0)
    student = (torch.randn(2, 5, 50, generator=generator, dtype=torch.float64) * 3).requires_grad_()
    teacher = torch.randn(2, 5, 50, generator=generator, dtype=torch.float64) * 3
    weights = torch.rand(2, 5, generator=generator, dtype=torch.float64)
    got = sdpo_token_losses(student, teacher, alpha, 4)
    given = sdpo_token_losses(
        student, teacher, alpha, 4, row_logsumexp(student.reshape(-1, 50)).reshape(2, 5)
    )
    assert torch.equal(given, got)  # the caller's normaliser stands in for the one computed inside
    (got * weights).sum().backward()
    got_grad, student.grad = student.grad, None
    want = reference_token_losses(student, teacher, alpha, 4)
    (want * weights).sum().backward()
    assert got.shape == (2, 5)
    assert torch.allclose(got, want, atol=1e-10)
    assert torch.allclose(got_grad, student.grad, atol=1e-10)


def test_topk_log_probs_gradient_in_the_logits_dtype():
    """bf16 logits: the gradient comes back in bf16, within bf16 rounding of the one
    computed in fp32 on the same logits."""
    generator = torch.Generator().manual_seed(1)
    logits = (torch.randn(7, 300, generator=generator) * 4).to(torch.bfloat16)
    upstream = torch.randn(7, 5, generator=generator)
    exact = logits.float().requires_grad_()
    top, _ = torch.log_softmax(exact, -1).topk(5, -1)
    (top * upstream).sum().backward()
    low = logits.clone().requires_grad_()
    values, ids = top_log_probs(low, row_logsumexp(low.detach()), 5)
    (values * upstream).sum().backward()
    assert low.grad.dtype == torch.bfloat16 and not ids.requires_grad
    assert (low.grad.float() - exact.grad).abs().max() <= 2**-8 * exact.grad.abs().max()


def test_token_log_probs(monkeypatch):
    monkeypatch.setattr(loss_module, "ROWS_PER_CHUNK", 2)
    logits = torch.randn(
        5, 30, generator=torch.Generator().manual_seed(2), dtype=torch.float64
    ).requires_grad_()
    ids = torch.tensor([0, 29, 3, 3, 17])
    got = token_log_probs(logits, ids, row_logsumexp(logits))
    assert not got.requires_grad
    assert torch.allclose(got, torch.log_softmax(logits, -1)[torch.arange(5), ids], atol=1e-12)


def test_nucleus_log_probs(monkeypatch):
    """Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.7 keeps 0.5 and 0.3 (mass above 0.15 is
    0.8), renormalised to 5/8, 3/8; an id outside the nucleus is scored against the same
    mass (0.15 / 0.8); top-p 1 is the plain log-prob; top-p 0.2 keeps the top token only."""
    monkeypatch.setattr(loss_module, "ROWS_PER_CHUNK", 1)
    logits = logp(0.5, 0.3, 0.15, 0.05).expand(3, -1)
    ids = torch.tensor([0, 1, 2])
    want = torch.tensor([5 / 8, 3 / 8, 0.15 / 0.8], dtype=torch.float64).log()
    assert torch.allclose(nucleus_log_probs(logits, ids, 0.7), want)
    assert torch.allclose(nucleus_log_probs(logits, ids, 1.0), logits[0, :3])
    assert nucleus_log_probs(logits[:1], ids[:1], 0.2).item() == pytest.approx(0.0, abs=1e-12)


def test_tempering_divides_the_logits_except_at_1_and_greedy():
    logits = torch.tensor([[2.0, -1.0]])
    assert torch.equal(tempered(logits, 0.5), torch.tensor([[4.0, -2.0]]))
    assert tempered(logits, 1.0) is logits and tempered(logits, 0.0) is logits


def test_the_contrastive_target_tilts_the_student_by_what_the_feedback_changes():
    """Uniform student over 3 tokens; the teacher with feedback puts 1/2, 1/4, 1/4 where
    the control (no feedback) is uniform: the difference is log(1.5), log(.75), log(.75).
    beta 1 recovers the teacher; beta 2 gives 1/3 * (2.25, .5625, .5625), normalised
    (2/3, 1/6, 1/6)."""
    student = torch.zeros(1, 3)
    teacher = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    control = torch.zeros(1, 3)
    for beta, want in ((1.0, [0.5, 0.25, 0.25]), (2.0, [2 / 3, 1 / 6, 1 / 6])):
        target, largest = contrastive_target(student, teacher, control, beta)
        assert torch.allclose(torch.softmax(target, -1), torch.tensor([want]), atol=1e-6)
        assert largest.item() == pytest.approx(math.log(1.5))


def test_the_contrastive_difference_is_clipped_at_5():
    student = torch.zeros(1, 2)
    teacher = torch.tensor([[0.0, -20.0]])  # the feedback moves token 1 by about -20 nats
    target, largest = contrastive_target(student, teacher, torch.zeros(1, 2), 1.0)
    # log-softmax difference (~0.69, ~-19.3) clipped to (0.69, -5)
    assert largest.item() == pytest.approx(5.0)
    assert (target[0, 0] - target[0, 1]).item() == pytest.approx(math.log(2) + 5.0, abs=1e-4)


def test_the_same_teacher_and_control_leave_the_student_as_its_own_target():
    student = torch.randn(4, 7)
    same = torch.randn(4, 7)
    target, largest = contrastive_target(student, same, same, 3.0)
    assert torch.allclose(torch.log_softmax(target, -1), torch.log_softmax(student, -1), atol=1e-5)
    assert torch.all(largest == 0)
    assert sdpo_token_losses(student, target, 1.0, 0).abs().max() < 1e-5  # nothing to learn
