"""SDPO loss functions against hand-worked values on 2-3 token distributions."""

import math

import pytest
import torch

from sdpo_cli.train.loss import divergence, importance_weights, log1mexp, sdpo_token_losses, topk_support


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
    assert s1.exp().tolist() == pytest.approx([0.5, 0.5]) and t1.exp().tolist() == pytest.approx([0.1, 0.9])
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
    loss = sdpo_token_losses(torch.log_softmax(student, -1), torch.log_softmax(teacher, -1), 1.0, 2).sum()
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None
