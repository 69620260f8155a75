"""One SDPO update: distil the self-teacher into the student adapter on one round's attempts.

Student and teacher run over the same sampled response tokens (nothing is generated for
the teacher); the loss is the mean over active tokens of the importance-weighted
divergence (train/loss.py); attempts without a teacher signal are masked out and do not
dilute the mean. AdamW with weight decay, gradient-norm clipping, then the teacher's EMA
step (paper §2, §5).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ..config import SamplingConfig, TrainConfig
from .loss import (
    SelectedLogProbs,
    contrastive_target,
    importance_weights,
    nucleus_log_probs,
    row_logsumexp,
    sdpo_token_losses,
    tempered,
    token_log_probs,
)
from .policy import Policy
from .shared_prompt import SharedPrompt
from .teacher import SharedTeacher, ema_step


@dataclass
class Example:
    student_prompt: list[int]
    teacher_prompt: list[int] | None  # None: no teacher signal, masked out
    response: list[int]
    sampler_logprobs: list[float] | None = None
    control_prompt: list[int] | None = None
    """The teacher prompt without the feedback (the contrastive teacher's control)."""
    advantage: float = 0.0
    """The attempt's group-normalised verifier score (the graded-score hybrid)."""
    weight: float = 1.0
    """The attempt's loss weight (repeat_weight for a repeated failure)."""


def group_advantages(scores: list[float]) -> list[float]:
    """(score - mean) / std over a round's attempts; all zero when the scores are equal
    (nothing to tell the attempts apart)."""
    mean = sum(scores) / len(scores)
    std = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5
    return [(s - mean) / std if std > 1e-8 else 0.0 for s in scores]


def make_optimizer(policy: Policy, train: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over the student adapter (paper Table 12: weight decay 0.01)."""
    return torch.optim.AdamW(
        policy.trainable_parameters(), lr=train.learning_rate, weight_decay=train.weight_decay
    )


def sdpo_update(
    policy: Policy,
    optimizer: torch.optim.Optimizer,
    examples: list[Example],
    train: TrainConfig,
    sampling: SamplingConfig,
) -> dict:
    """Apply one update, `train.epochs` optimizer steps over the examples, with the loss,
    clipping and teacher settings of `train`, on the distribution `sampling` drew the
    examples from (its temperature and top-p; train/loss.py); returns its metrics: those
    of the first step (the loss the round starts from, and the sampler-trainer gap, which
    is a parity check only before the first step), and the last step's loss. With no active attempt,
    nothing changes."""
    active = [e for e in examples if e.teacher_prompt is not None and e.response]
    metrics = {
        "active_attempts": len(active),
        "attempts": len(examples),
        "loss": None,
        "kl": None,
        "grad_norm": None,
        "is_weight_mean": None,
        "tokens": 0,
    }
    if not active:
        return metrics
    for epoch in range(train.epochs):
        optimizer.zero_grad(set_to_none=True)
        policy.model.train()
        step = _accumulate(policy, active, train, sampling, backward=True)
        grad_norm = torch.nn.utils.clip_grad_norm_(policy.trainable_parameters(), train.grad_clip)
        optimizer.step()
        policy.model.eval()
        ema_step(policy, train)
        if epoch == 0:
            metrics.update(step, grad_norm=float(grad_norm))
        else:
            for key in ("teacher_forward_s", "student_forward_backward_s"):
                metrics[key] = round(metrics[key] + step[key], 3)
    metrics["last_loss"] = step["loss"]
    policy.version += 1
    return metrics


@torch.no_grad()
def sdpo_loss(
    policy: Policy, examples: list[Example], train: TrainConfig, sampling: SamplingConfig
) -> dict:
    """The loss and KL an update would start from, without changing anything."""
    active = [e for e in examples if e.teacher_prompt is not None and e.response]
    if not active:
        return {"loss": None, "kl": None, "is_weight_mean": None, "tokens": 0}
    return _accumulate(policy, active, train, sampling, backward=False)


def _accumulate(
    policy: Policy,
    active: list[Example],
    train: TrainConfig,
    sampling: SamplingConfig,
    backward: bool,
) -> dict:
    """Loss over the active attempts in micro-batches, as a mean over all their tokens;
    gradients accumulate when `backward`. The student prompt, and the teacher prompts'
    common prefix, run once per distinct student prompt; a micro-batch's attempts are
    packed into one sequence on it, without padding (train/shared_prompt.py)."""
    total = sum(len(e.response) for e in active)
    sums = {"loss": 0.0, "kl": 0.0, "weight": 0.0, "gap": 0.0, "gap_tokens": 0}
    teacher_s = student_s = 0.0
    for prompt, group in _by_student_prompt(active).items():
        clock = time.perf_counter()
        teacher = SharedTeacher(policy, [e.teacher_prompt for e in group], train)
        control = (
            SharedTeacher(policy, [e.control_prompt for e in group], train)
            if train.contrast
            else None
        )
        teacher_s += time.perf_counter() - clock
        clock = time.perf_counter()
        shared = SharedPrompt(policy, list(prompt))
        student_s += time.perf_counter() - clock
        for start in range(0, len(group), train.micro_batch):
            chunk = group[start : start + train.micro_batch]
            responses = [e.response for e in chunk]
            clock = time.perf_counter()
            teacher_logits = teacher.response_logits(responses, [e.teacher_prompt for e in chunk])
            control_logits = (
                control.response_logits(responses, [e.control_prompt for e in chunk])
                if control is not None
                else None
            )
            teacher_s += time.perf_counter() - clock
            clock = time.perf_counter()
            part = _token_losses(
                shared.response_logits(responses),
                teacher_logits,
                control_logits,
                chunk,
                train,
                sampling,
                total,
                backward,
            )
            student_s += time.perf_counter() - clock
            for key, value in part.items():
                sums[key] += value
        clock = time.perf_counter()
        if backward:
            shared.backward()
        student_s += time.perf_counter() - clock
    return {
        "loss": sums["loss"],
        "kl": sums["kl"] / total,
        "is_weight_mean": sums["weight"] / total,
        "tokens": total,
        "sampler_gap": sums["gap"] / sums["gap_tokens"] if sums["gap_tokens"] else None,
        "teacher_forward_s": round(teacher_s, 3),
        "student_forward_backward_s": round(student_s, 3),
    }


def _token_losses(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    control_logits: torch.Tensor | None,
    examples: list[Example],
    train: TrainConfig,
    sampling: SamplingConfig,
    total: int,
    backward: bool,
) -> dict[str, float]:
    """Loss terms of a micro-batch's response tokens (student, teacher and, for the
    contrastive teacher, control logits [R, V], the examples' responses one after
    another); with `backward`, the gradient of their share of the mean loss over all
    `total` active tokens (gated positions count in `total` with a loss of 0). All logits
    are tempered as the sampler tempered them; the importance weight and the parity gap
    use the student's log-prob under the sampler's truncation too (train/loss.py)."""
    temperature = sampling.temperature
    student_logits = tempered(student_logits, temperature)
    teacher_logits = tempered(teacher_logits, temperature)
    if control_logits is not None:
        control_logits = tempered(control_logits, temperature)
    device = student_logits.device
    response_ids = torch.tensor([t for e in examples for t in e.response], device=device)
    sampler = _sampler_logprobs(examples, device)
    normaliser = row_logsumexp(student_logits)  # one pass over the vocabulary, used twice
    gate = None
    if control_logits is not None:
        teacher_logits, largest = contrastive_target(
            student_logits, teacher_logits, control_logits, train.contrast, normaliser
        )
        gate = (largest >= train.contrast_gate).to(normaliser.dtype)
    per_token = sdpo_token_losses(
        student_logits, teacher_logits, train.alpha, train.topk, normaliser
    )
    if sampling.top_p < 1.0 and temperature > 0:  # for the weights and the parity gap
        token_logp = nucleus_log_probs(student_logits, response_ids, sampling.top_p)
    else:
        token_logp = token_log_probs(student_logits, response_ids, normaliser)
    gap, gap_tokens = 0.0, 0
    if sampler is None:
        weights = torch.ones_like(per_token)
    else:
        weights = importance_weights(token_logp, sampler, train.is_clip)
        gap, gap_tokens = (token_logp - sampler).abs().sum().item(), len(sampler)
    attempt_weights = torch.tensor([e.weight for e in examples for _ in e.response], device=device)
    terms = per_token * (weights if gate is None else weights * gate) * attempt_weights
    if train.hybrid:
        advantages = torch.tensor(
            [e.advantage for e in examples for _ in e.response], device=device
        )
        sampled = SelectedLogProbs.apply(student_logits, normaliser, response_ids[:, None])
        policy_gradient = -(advantages * weights * sampled.squeeze(-1))
        terms = (1 - train.hybrid) * terms + train.hybrid * policy_gradient
    loss = terms.sum() / total
    if backward:
        loss.backward()
    return {
        "loss": loss.item(),
        "kl": per_token.detach().sum().item(),
        "weight": weights.sum().item(),
        "gap": gap,
        "gap_tokens": gap_tokens,
    }


def _by_student_prompt(examples: list[Example]) -> dict[tuple[int, ...], list[Example]]:
    groups: dict[tuple[int, ...], list[Example]] = {}
    for example in examples:
        groups.setdefault(tuple(example.student_prompt), []).append(example)
    return groups


def _sampler_logprobs(examples: list[Example], device) -> torch.Tensor | None:
    """The sampler's log-probs of the examples' response tokens, one after another; None
    if any example lacks them."""
    if any(e.sampler_logprobs is None for e in examples):
        return None
    return torch.tensor([x for e in examples for x in e.sampler_logprobs], device=device)
