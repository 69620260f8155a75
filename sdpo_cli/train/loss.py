"""The SDPO objective as pure tensor functions (METHOD.md §1, paper §2 and App. A).

Per response position t the student p_s(.|x, y<t) is distilled towards the self-teacher
q(.|reprompt(x, f), y<t) (stop-gradient) with a divergence chosen by `alpha`:
  alpha = 0: forward KL(q || p_s);  alpha = 1: reverse KL(p_s || q) (the test-time
  setting);  in between: generalised JSD with M = (1-a) p_s + a q,
  D = (1-a) KL(p_s || M) + a KL(q || M).
Support: the student's top-K tokens, the teacher's log-probs gathered at the same ids,
and one tail bucket per side holding log(1 - sum of top-K probs); topk=0 uses the full
vocabulary. Tokens are weighted by a detached importance weight exp(logp_train -
logp_sampler) clipped at 2; train/update.py averages over active tokens only.
"""

from __future__ import annotations

import math

import torch

IS_CLIP = 2.0
LOG_HALF = -math.log(2.0)


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x <= 0, computed stably (Mächler 2012)."""
    x = x.clamp(max=-1e-7)
    return torch.where(x > LOG_HALF, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def topk_support(student_logp: torch.Tensor, teacher_logp: torch.Tensor, k: int
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Restrict full log-prob tensors [..., V] to the student's top-k ids plus a tail bucket:
    two tensors [..., k+1] that are each a proper log-distribution."""
    student_top, ids = student_logp.topk(k, dim=-1)
    teacher_top = teacher_logp.gather(-1, ids)
    student_tail = log1mexp(torch.logsumexp(student_top, dim=-1, keepdim=True))
    teacher_tail = log1mexp(torch.logsumexp(teacher_top, dim=-1, keepdim=True))
    return torch.cat([student_top, student_tail], -1), torch.cat([teacher_top, teacher_tail], -1)


def kl(p_logp: torch.Tensor, q_logp: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the last axis, from log-probs."""
    return (p_logp.exp() * (p_logp - q_logp)).sum(-1)


def divergence(student_logp: torch.Tensor, teacher_logp: torch.Tensor, alpha: float) -> torch.Tensor:
    """D(p_s || q) per position for the given alpha (see module docstring)."""
    if alpha <= 0.0:
        return kl(teacher_logp, student_logp)
    if alpha >= 1.0:
        return kl(student_logp, teacher_logp)
    mixture = torch.logsumexp(torch.stack([student_logp + math.log(1 - alpha),
                                           teacher_logp + math.log(alpha)]), dim=0)
    return (1 - alpha) * kl(student_logp, mixture) + alpha * kl(teacher_logp, mixture)


def importance_weights(train_logp: torch.Tensor, sampler_logp: torch.Tensor, clip: float = IS_CLIP
                       ) -> torch.Tensor:
    """exp(logp_train - logp_sampler), detached and clipped from above (METHOD.md §1)."""
    return torch.exp(train_logp.detach() - sampler_logp).clamp(max=clip)


def sdpo_token_losses(student_logp: torch.Tensor, teacher_logp: torch.Tensor, alpha: float,
                      topk: int) -> torch.Tensor:
    """Divergence per position [B, T] from full log-probs [B, T, V]; the teacher gets no gradient."""
    teacher_logp = teacher_logp.detach()
    if topk > 0:
        student_logp, teacher_logp = topk_support(student_logp, teacher_logp, topk)
    return divergence(student_logp, teacher_logp, alpha)

