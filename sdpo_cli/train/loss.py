"""The SDPO objective as pure tensor functions (paper §2 and App. A; docs/method.md).

Per response position t the student p_s(.|x, y<t) is distilled towards the self-teacher
q(.|reprompt(x, f), y<t) (stop-gradient) with a divergence chosen by `alpha`:
  alpha = 0: forward KL(q || p_s);  alpha = 1: reverse KL(p_s || q) (the test-time
  setting);  in between: generalised JSD with M = (1-a) p_s + a q,
  D = (1-a) KL(p_s || M) + a KL(q || M).
Support: the student's top-K tokens, the teacher's log-probs gathered at the same ids,
and one tail bucket per side holding log(1 - sum of top-K probs); topk=0 uses the full
vocabulary. Tokens are weighted by a detached importance weight exp(logp_train -
logp_sampler) clipped at 2; train/update.py averages over active tokens only.

Sampling below temperature 1 or with top-p < 1 (docs/method.md, "Temperature and
truncation"): student, teacher and control logits enter every term divided by the
temperature, and the importance weight compares the sampled token's log-prob under the
tempered, nucleus-truncated student (`nucleus_log_probs`) with the sampler's log-prob
under the same transform, so both sides are the distribution the tokens were drawn from.

The functions take logits over the whole vocabulary ([..., V], in the model's dtype).
With top-K support only K log-probs per side and each row's normaliser are needed, so
the vocabulary-wide fp32 log-softmax is never materialised: the normaliser is computed
in row chunks, and the student's gradient is written straight into the logits' gradient
(`SelectedLogProbs`). A round's 1,500 response tokens over 49k ids make each vocabulary-wide
fp32 tensor 0.3 GB (bench/RESULTS.md).
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


ROWS_PER_CHUNK = 128  # vocabulary-wide fp32 temporaries of 128 rows (25 MB for 49k ids)


def wide(x: torch.Tensor) -> torch.Tensor:
    """x in fp32, or in its own dtype where that is wider."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def row_logsumexp(logits: torch.Tensor) -> torch.Tensor:
    """log(sum(exp)) over the last axis of [R, V] logits, in at least fp32, `ROWS_PER_CHUNK`
    rows at a time (no gradient)."""
    with torch.no_grad():
        return torch.cat(
            [torch.logsumexp(wide(chunk), -1) for chunk in logits.split(ROWS_PER_CHUNK)]
        )


def token_log_probs(
    logits: torch.Tensor, ids: torch.Tensor, normaliser: torch.Tensor
) -> torch.Tensor:
    """log-probs [R] of the ids [R] under softmax(logits [R, V]), detached; `normaliser`:
    the logits' row_logsumexp."""
    return wide(logits.detach().gather(-1, ids.unsqueeze(-1)).squeeze(-1)) - normaliser


def tempered(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / temperature; unchanged at 1 and at 0 (greedy decoding draws from the
    untempered logits' argmax, and its log-probs are the untempered ones)."""
    return logits if temperature in (0.0, 1.0) else logits / temperature


def outside_nucleus(ranked_probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Which of the probabilities [..., V], sorted in descending order, fall outside the
    top-p nucleus: those with at least `top_p` of the mass ranked above them (the top
    token always stays). The one rule of the hf sampler's draw and of the trainer's
    `nucleus_log_probs`, as vLLM applies it."""
    return ranked_probs.cumsum(-1) - ranked_probs >= top_p


def nucleus_log_probs(logits: torch.Tensor, ids: torch.Tensor, top_p: float) -> torch.Tensor:
    """log-probs [R] of the ids [R] under softmax(logits [R, V]) truncated to its nucleus
    (the most likely tokens until their mass reaches `top_p`, the top token always) and
    renormalised, detached; the sampler's truncation (backends/hf.py draw, vLLM's top-p).
    An id outside the nucleus gets its log-prob against the nucleus' mass as well, so an
    id at the nucleus' edge, where trainer and sampler round differently, keeps a finite
    weight."""
    with torch.no_grad():
        rows = []
        for chunk, chunk_ids in zip(logits.split(ROWS_PER_CHUNK), ids.split(ROWS_PER_CHUNK)):
            logp = torch.log_softmax(wide(chunk), -1)
            ranked = logp.sort(-1, descending=True).values
            cut = outside_nucleus(ranked.exp(), top_p)
            kept = torch.logsumexp(ranked.masked_fill(cut, -torch.inf), -1)
            rows.append(logp.gather(-1, chunk_ids[:, None]).squeeze(-1) - kept)
        return torch.cat(rows)


class SelectedLogProbs(torch.autograd.Function):
    """log softmax(logits) at the given ids, with a gradient: logits [R, V], `normaliser`
    [R] their row_logsumexp, ids [R, k]; returns log-probs [R, k] (at least fp32). The
    backward writes the logits' gradient directly, chunk by chunk, without a
    vocabulary-wide fp32 log-softmax: d/dz_j = g_j [j among the ids] - softmax(z)_j *
    sum_i g_i."""

    @staticmethod
    def forward(ctx, logits, normaliser, ids):
        ctx.save_for_backward(logits, normaliser, ids)
        return wide(logits.gather(-1, ids)) - normaliser[:, None]

    @staticmethod
    def backward(ctx, grad_top):
        logits, normaliser, ids = ctx.saved_tensors
        grad = torch.empty_like(logits)
        total = grad_top.sum(-1, keepdim=True)
        for start in range(0, logits.shape[0], ROWS_PER_CHUNK):
            rows = slice(start, start + ROWS_PER_CHUNK)
            probs = (wide(logits[rows]) - normaliser[rows, None]).exp_()
            grad[rows] = probs.mul_(-total[rows]).scatter_add_(-1, ids[rows], grad_top[rows])
        return grad, None, None


def top_log_probs(logits, normaliser, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest log-probs of softmax(logits) per row [R, k], with a gradient, and
    their ids [R, k]."""
    ids = logits.detach().topk(k, dim=-1).indices
    return SelectedLogProbs.apply(logits, normaliser, ids), ids


def topk_support(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    k: int,
    student_normaliser: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Restrict logits [..., V] to the student's top-k ids plus a tail bucket: two tensors
    [..., k+1] (at least fp32) that are each a proper log-distribution (the teacher's
    detached). `student_normaliser`: the student logits' row_logsumexp, where the caller
    has it already (computed here otherwise)."""
    shape, vocab = student_logits.shape[:-1], student_logits.shape[-1]
    student_logits, teacher_logits = (
        student_logits.reshape(-1, vocab),
        teacher_logits.reshape(-1, vocab),
    )
    if student_normaliser is None:
        student_normaliser = row_logsumexp(student_logits)
    student_top, ids = top_log_probs(student_logits, student_normaliser.reshape(-1), k)
    teacher_top = wide(teacher_logits.gather(-1, ids)) - row_logsumexp(teacher_logits)[:, None]
    student_tail = log1mexp(torch.logsumexp(student_top, dim=-1, keepdim=True))
    teacher_tail = log1mexp(torch.logsumexp(teacher_top, dim=-1, keepdim=True))
    return (
        torch.cat([student_top, student_tail], -1).reshape(*shape, k + 1),
        torch.cat([teacher_top, teacher_tail], -1).reshape(*shape, k + 1),
    )


def kl(p_logp: torch.Tensor, q_logp: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the last axis, from log-probs."""
    return (p_logp.exp() * (p_logp - q_logp)).sum(-1)


def divergence(
    student_logp: torch.Tensor, teacher_logp: torch.Tensor, alpha: float
) -> torch.Tensor:
    """D(p_s || q) per position for the given alpha (see module docstring)."""
    if alpha <= 0.0:
        return kl(teacher_logp, student_logp)
    if alpha >= 1.0:
        return kl(student_logp, teacher_logp)
    mixture = torch.logsumexp(
        torch.stack([student_logp + math.log(1 - alpha), teacher_logp + math.log(alpha)]), dim=0
    )
    return (1 - alpha) * kl(student_logp, mixture) + alpha * kl(teacher_logp, mixture)


ADVANTAGE_CLIP = 5.0


def contrastive_target(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    control_logits: torch.Tensor,
    beta: float,
    student_normaliser: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The contrastive teacher: log q~ = log p_s + beta * clip(log q(.|x, f) - log
    q(.|x, control), +-ADVANTAGE_CLIP), as logits [R, V] (the loss's support renormalises
    them), and per position the largest |difference| over the vocabulary [R] (for the
    gate). The control is the same reprompt without the feedback, so the template's own
    effect on the teacher cancels and only what the feedback changes is distilled; the
    clip at 5 is the paper's clip of the per-token advantage. No gradient."""
    with torch.no_grad():
        if student_normaliser is None:
            student_normaliser = row_logsumexp(student_logits)
        rows = []
        largest = []
        for s, t, c, n in zip(
            student_logits.split(ROWS_PER_CHUNK),
            teacher_logits.split(ROWS_PER_CHUNK),
            control_logits.split(ROWS_PER_CHUNK),
            student_normaliser.split(ROWS_PER_CHUNK),
        ):
            difference = torch.log_softmax(wide(t), -1) - torch.log_softmax(wide(c), -1)
            difference.clamp_(-ADVANTAGE_CLIP, ADVANTAGE_CLIP)
            largest.append(difference.abs().amax(-1))
            rows.append(wide(s) - n[:, None] + beta * difference)
        return torch.cat(rows), torch.cat(largest)


def importance_weights(
    train_logp: torch.Tensor, sampler_logp: torch.Tensor, clip: float = IS_CLIP
) -> torch.Tensor:
    """exp(logp_train - logp_sampler), detached and clipped from above (paper §2)."""
    return torch.exp(train_logp.detach() - sampler_logp).clamp(max=clip)


def sdpo_token_losses(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    alpha: float,
    topk: int,
    student_normaliser: torch.Tensor | None = None,
) -> torch.Tensor:
    """Divergence per position [...] from logits [..., V]; the teacher gets no gradient.
    `student_normaliser`: as for topk_support."""
    teacher_logits = teacher_logits.detach()
    if topk > 0:
        student_logp, teacher_logp = topk_support(
            student_logits, teacher_logits, topk, student_normaliser
        )
    else:
        student_logp = torch.log_softmax(wide(student_logits), -1)
        teacher_logp = torch.log_softmax(wide(teacher_logits), -1)
    return divergence(student_logp, teacher_logp, alpha)
