"""`sdpo probe`: measure, before spending the budget, whether the self-teacher is better
than the student on this problem (the premise of SDPO).

It samples N student attempts; for the failed ones it samples once from each teacher
prompt (paper Table 2, with that attempt's feedback) and once from a control prompt (the
same reprompt with the feedback removed: the question and the closing instruction), and
measures pass rates with 90% Wilson intervals; the mean per-token log-prob that the
student, control and teacher contexts give the failed attempts and, when the problem has
a reference solution, the reference (teacher minus control = the effect of the feedback
text itself; control minus student = the effect of the template); the initial SDPO loss
per token; and the failure kinds seen. recommend() turns that into a method.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .. import metrics as M
from ..reprompt import control_messages, teacher_messages
from ..train.shared_prompt import mean_response_logprobs
from ..train.update import Example, sdpo_loss
from .attempts import (
    Attempt,
    BatchSpec,
    Tally,
    first_success,
    round_seed,
    sample_and_verify,
    sample_each_and_verify,
)
from .base import MethodContext


@dataclass(frozen=True)
class Rule:
    """The recommendation rule; thresholds calibrated in bench/RESULTS.md ('probe')."""

    easy_pass_rate: float = 0.25
    """Student pass rate at or above which sampling alone is expected to do (best-of-k)."""
    teacher_pass_gain: float = 0.1
    """Teacher minus student pass rate above which the feedback is taken to help."""
    feedback_logprob_gain: float = 0.02
    """Teacher minus control log-prob of the reference solution (nat/token) above which
    the feedback is taken to make the teacher better."""


DEFAULT_RULE = Rule()


def recommend(report: dict[str, Any], rule: Rule = DEFAULT_RULE) -> tuple[str, str]:
    """(method, reason) from a probe report:
    1. the student already passes often            -> bestofk (nothing to learn);
    2. the teacher passes more often than the student, and the feedback does not lower
       the reference's likelihood                   -> sdpo (distil the better teacher);
    3. the teacher passes more often, but the feedback lowers the reference's
       likelihood                                   -> multiturn (use it in context only);
    4. the feedback raises the reference's likelihood -> sdpo;
    5. otherwise                                    -> bestofk."""
    student = report["pass_rate"]["student"]["rate"] or 0.0
    teacher = report["pass_rate"]["teacher"]["rate"]
    gain = report.get("reference_logprob", {}).get("feedback_effect")
    if student >= rule.easy_pass_rate:
        return "bestofk", (
            f"the student already passes {student:.0%} of attempts: expect a solution in "
            f"about {1 / student:.1f} i.i.d. attempts, no learning needed"
        )
    teacher_helps = teacher is not None and teacher - student > rule.teacher_pass_gain
    if teacher_helps and (gain is None or gain >= 0):
        return "sdpo", (
            f"with its feedback the model passes {teacher:.0%} vs {student:.0%} without: "
            "the self-teacher is better than the student"
        )
    if teacher_helps:
        return "multiturn", (
            f"feedback in context helps ({teacher:.0%} vs {student:.0%}) but lowers the "
            f"reference solution's log-prob ({gain:.3f} nat/token): use it in context only"
        )
    if gain is not None and gain > rule.feedback_logprob_gain:
        return "sdpo", (
            f"feedback raises the reference solution's log-prob by {gain:.3f} nat/token over the "
            "same prompt without it: the self-teacher knows more than the student"
        )
    expected = f"about {1 / student:.0f}" if student else "more than the probe's"
    return "bestofk", (
        "the feedback does not make the model a better teacher here; student pass rate "
        f"{student:.0%}: expect {expected} attempts by i.i.d. sampling"
    )


def probe(
    context: MethodContext, samples: int, first_index: int = 1
) -> tuple[dict[str, Any], list[Attempt]]:
    """Run the probe; returns its report and every attempt it generated (indices from
    first_index: students first, then teacher samples, then control samples)."""
    problem, policy, config = context.problem, context.policy, context.config
    context = replace(context, tally=Tally())
    version = policy.version
    student_prompt = policy.chat_ids(problem.messages())
    students = sample_and_verify(
        context,
        student_prompt,
        samples,
        BatchSpec(round_seed(config.seed, 0, 1, "probe"), first_index, 0, version, "probe-student"),
    )
    failed = [a for a in students if not a.passed]
    teacher_prompts = [
        policy.chat_ids(
            teacher_messages(problem, a.verdict.feedback, None, problem.limits.feedback_chars)
        )
        for a in failed
    ]
    control_prompt = policy.chat_ids(control_messages(problem))
    index = first_index + len(students)
    teachers = sample_each_and_verify(
        context,
        teacher_prompts,
        BatchSpec(round_seed(config.seed, 0, 2, "probe"), index, 0, version, "probe-teacher"),
    )
    controls = sample_and_verify(
        context,
        control_prompt,
        len(failed),
        BatchSpec(
            round_seed(config.seed, 0, 3, "probe"),
            index + len(teachers),
            0,
            version,
            "probe-control",
        ),
    )
    report: dict[str, Any] = {
        "samples": samples,
        "failed_students": len(failed),
        "pass_rate": {
            name: _rate(group)
            for name, group in (("student", students), ("teacher", teachers), ("control", controls))
        },
        "failure_kinds": _kinds(students),
    }
    if failed:
        responses = [a.completion.token_ids for a in failed]
        report["attempt_logprob"] = _contexts(
            policy, student_prompt, control_prompt, teacher_prompts, responses
        )
        examples = [Example(student_prompt, t, r) for t, r in zip(teacher_prompts, responses)]
        report["initial_sdpo_loss"] = sdpo_loss(policy, examples, config.train)["loss"]
        if problem.reference:
            reference = policy.tokenizer(problem.reference, add_special_tokens=False).input_ids
            report["reference_logprob"] = _contexts(
                policy, student_prompt, control_prompt, teacher_prompts, [reference] * len(failed)
            )
    all_attempts = students + teachers + controls
    winner = first_success(all_attempts)
    report["solved_at"] = winner.index if winner else None
    report["attempts"] = len(all_attempts)
    report["recommendation"], report["reason"] = recommend(report)
    return report, all_attempts


def _rate(group: list[Attempt]) -> dict[str, Any]:
    passes = sum(a.passed for a in group)
    return {
        "passes": passes,
        "n": len(group),
        "rate": passes / len(group) if group else None,
        "ci90": M.wilson(passes, len(group)).to_json(),
    }


def _kinds(group: list[Attempt]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for a in group:
        if not a.passed:
            kinds[a.verdict.failure_type or "failed"] = (
                kinds.get(a.verdict.failure_type or "failed", 0) + 1
            )
    return kinds


def _contexts(
    policy, student_prompt, control_prompt, teacher_prompts, responses
) -> dict[str, float]:
    """Mean per-token log-prob of the responses under the three contexts."""
    n = len(responses)
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    student = mean(mean_response_logprobs(policy, [student_prompt] * n, responses))
    control = mean(mean_response_logprobs(policy, [control_prompt] * n, responses))
    teacher = mean(mean_response_logprobs(policy, teacher_prompts, responses))
    return {
        "student": student,
        "control": control,
        "teacher": teacher,
        "feedback_effect": teacher - control,
        "template_effect": control - student,
    }
