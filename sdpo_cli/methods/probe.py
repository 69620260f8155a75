"""`sdpo probe`: measure, before spending the budget, whether the self-teacher is better
than the student on this problem (the premise of SDPO).

It samples N student attempts; for the failed ones it samples once from a control prompt
(the teacher's reprompt with the feedback removed: the question and the closing
instruction) and once from each teacher prompt (paper Table 2, with that attempt's
feedback, in each hint format asked for), and
measures pass rates with 90% Wilson intervals; the mean per-token log-prob that the
student, control and teacher contexts give the failed attempts and, when the problem has
a reference solution, the reference (teacher minus control = the effect of the feedback
text itself; control minus student = the effect of the template); the initial SDPO loss
per token; and the failure kinds seen.

The feedback's effect is measured against the control, which differs from the teacher
only by the feedback: teacher minus control pass rate (90% Newcombe interval) and, with a
reference, the mean over failed attempts of teacher minus control reference log-prob
(90% bootstrap interval over the attempts). recommend() turns the intervals into a
method.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .. import metrics as M
from ..reprompt import control_messages, hint_text, teacher_messages
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
    """The recommendation rule on the feedback's effect (teacher minus control); thresholds
    fitted in bench/EXPERIMENTS.md ('probe') with bench/probe_check.py."""

    easy_pass_rate: float = 0.25
    """Student pass rate at or above which sampling alone is expected to do (best-of-k)."""
    pass_gain: float = 0.0
    """The lower end of the 90% interval of teacher minus control pass rate must exceed
    this for the feedback to count as helping in context."""
    logprob_gain: float = 0.0
    """The lower end of the 90% interval of teacher minus control log-prob of the
    reference (nat/token) must exceed this for the feedback to count as making the teacher
    a better distribution; its upper end below minus this counts as making it worse."""


DEFAULT_RULE = Rule()


def recommend(report: dict[str, Any], rule: Rule = DEFAULT_RULE) -> tuple[str, str]:
    """(method, reason) from a probe report:
    1. the student already passes often             -> bestofk (nothing to learn);
    2. the feedback raises the pass rate over the control, and does not lower the
       reference's likelihood                       -> sdpo (distil the better teacher);
    3. it raises the pass rate but lowers the reference's likelihood
                                                     -> multiturn (use it in context only);
    4. it raises the reference's likelihood          -> sdpo;
    5. otherwise                                     -> bestofk."""
    student = report["pass_rate"]["student"]["rate"] or 0.0
    effect = report.get("feedback_effect", {})
    pass_low, _ = effect.get("pass_rate", {}).get("ci90", [None, None])
    ref_low, ref_high = effect.get("reference_logprob", {}).get("ci90", [None, None])
    if student >= rule.easy_pass_rate:
        return "bestofk", (
            f"the student already passes {student:.0%} of attempts: expect a solution in "
            f"about {1 / student:.1f} i.i.d. attempts, no learning needed"
        )
    helps = pass_low is not None and pass_low > rule.pass_gain
    lowers = ref_high is not None and ref_high < -rule.logprob_gain
    raises = ref_low is not None and ref_low > rule.logprob_gain
    if helps and not lowers:
        return "sdpo", (
            f"the feedback raises the pass rate over the same prompt without it (90% interval "
            f"of the gain from {pass_low:+.2f}): the self-teacher is better than the student"
        )
    if helps:
        return "multiturn", (
            f"the feedback helps in context (pass-rate gain from {pass_low:+.2f}) but lowers "
            f"the reference solution's log-prob (up to {ref_high:+.3f} nat/token): use it in "
            "context only"
        )
    if raises:
        return "sdpo", (
            f"the feedback raises the reference solution's log-prob over the same prompt "
            f"without it (90% interval from {ref_low:+.3f} nat/token): the self-teacher "
            "knows more than the student"
        )
    expected = f"about {1 / student:.0f}" if student else "more than the probe's"
    return "bestofk", (
        "the feedback does not make the model a better teacher here; student pass rate "
        f"{student:.0%}: expect {expected} attempts by i.i.d. sampling"
    )


def probe(
    context: MethodContext, samples: int, first_index: int = 1, hints: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[Attempt]]:
    """Run the probe; returns its report and every attempt it generated (indices from
    first_index: students first, then control samples, then teacher samples for each hint
    format). `hints`: the feedback formats whose teachers are measured (default: the run's
    own, `train.hint`); the report's main figures and its recommendation are those of the
    first, `hints` lists every format's feedback effect and `best_hint` the strongest."""
    problem, policy, config = context.problem, context.policy, context.config
    hints = hints or (config.train.hint,)
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
    control_prompt = policy.chat_ids(control_messages(problem))
    index = first_index + len(students)
    controls = sample_and_verify(
        context,
        control_prompt,
        len(failed),
        BatchSpec(round_seed(config.seed, 0, 3, "probe"), index, 0, version, "probe-control"),
    )
    index += len(controls)
    responses = [a.completion.token_ids for a in failed]
    texts = {"attempt_logprob": responses} if failed else {}  # what log-probs are taken of
    if problem.reference and failed:
        reference = policy.tokenizer(problem.reference, add_special_tokens=False).input_ids
        texts["reference_logprob"] = [reference] * len(failed)
    baselines = {  # the student's and the control's log-probs, the same for every hint
        key: (
            mean_response_logprobs(policy, [student_prompt] * len(items), items),
            mean_response_logprobs(policy, [control_prompt] * len(items), items),
            items,
        )
        for key, items in texts.items()
    }
    views, teachers = {}, []
    for hint in hints:
        view, sampled = _teacher_view(context, hint, failed, controls, baselines, index)
        index += len(sampled)
        views[hint], teachers = view, teachers + sampled
    main = views[hints[0]]
    report: dict[str, Any] = {
        "samples": samples,
        "failed_students": len(failed),
        "hint": hints[0],
        "pass_rate": {
            "student": _rate(students),
            "teacher": main["pass_rate"],
            "control": _rate(controls),
        },
        "failure_kinds": _kinds(students),
        "feedback_effect": main["feedback_effect"],
        **{k: main[k] for k in ("attempt_logprob", "reference_logprob") if k in main},
    }
    if failed:
        examples = [Example(student_prompt, t, r) for t, r in zip(main["prompts"], responses)]
        report["initial_sdpo_loss"] = sdpo_loss(policy, examples, config.train, config.sampling)[
            "loss"
        ]
    if len(hints) > 1:
        report["hints"] = {
            hint: {"pass_rate": v["pass_rate"], "feedback_effect": v["feedback_effect"]}
            for hint, v in views.items()
        }
        report["best_hint"] = max(hints, key=lambda h: _strength(views[h]["feedback_effect"]))
    all_attempts = students + controls + teachers
    winner = first_success(all_attempts)
    report["solved_at"] = winner.index if winner else None
    report["attempts"] = len(all_attempts)
    report["recommendation"], report["reason"] = recommend(report)
    return report, all_attempts


def _teacher_view(
    context: MethodContext,
    hint: str,
    failed: list[Attempt],
    controls: list[Attempt],
    baselines: dict[str, tuple[list[float], list[float], list[list[int]]]],
    index: int,
) -> tuple[dict[str, Any], list[Attempt]]:
    """One teacher sample per failed attempt, with that attempt's feedback in the `hint`
    format, and the feedback's effect against the control; returns the figures and the
    teacher samples. `baselines`: per measured text (the failed attempts, the reference),
    the student's and the control's log-probs of each, and the texts."""
    problem, policy, config = context.problem, context.policy, context.config
    prompts = [
        policy.chat_ids(
            teacher_messages(
                problem,
                hint_text(a.verdict.feedback or "", hint),
                None,
                problem.limits.feedback_chars,
            )
        )
        for a in failed
    ]
    stream = "probe-teacher" if hint == "full" else f"probe-teacher-{hint}"
    teachers = sample_each_and_verify(
        context,
        prompts,
        BatchSpec(round_seed(config.seed, 0, 2, stream), index, 0, policy.version, stream),
    )
    teacher_passes, control_passes = (
        sum(a.passed for a in teachers),
        sum(a.passed for a in controls),
    )
    view: dict[str, Any] = {
        "prompts": prompts,
        "pass_rate": _rate(teachers),
        "feedback_effect": {
            "pass_rate": {
                "difference": (teacher_passes - control_passes) / len(failed) if failed else None,
                "ci90": M.difference_interval(
                    teacher_passes, len(teachers), control_passes, len(controls)
                ).to_json(),
            }
        },
    }
    for key, (per_student, per_control, items) in baselines.items():
        per_teacher = mean_response_logprobs(policy, prompts, items)
        view[key], differences = _contexts(per_student, per_control, per_teacher)
        if key == "reference_logprob":
            view["feedback_effect"]["reference_logprob"] = {
                "mean": view[key]["feedback_effect"],
                "ci90": M.bootstrap(differences, lambda d: sum(d) / len(d)).to_json(),
            }
    return view, teachers


def _strength(effect: dict[str, Any]) -> float:
    """How surely a feedback format helps: the lower end of its reference log-prob
    interval where there is a reference, else of its pass-rate gain."""
    low = effect.get("reference_logprob", effect["pass_rate"])["ci90"][0]
    return -float("inf") if low is None else low


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
    per_student: list[float], per_control: list[float], per_teacher: list[float]
) -> tuple[dict[str, float], list[float]]:
    """Mean per-token log-probs of some texts under the three contexts (one value per
    text in each list), and each text's teacher minus control (the paired feedback
    effects)."""
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    student, control, teacher = mean(per_student), mean(per_control), mean(per_teacher)
    differences = [t - c for t, c in zip(per_teacher, per_control)]
    return {
        "student": student,
        "control": control,
        "teacher": teacher,
        "feedback_effect": teacher - control,
        "template_effect": control - student,
    }, differences
