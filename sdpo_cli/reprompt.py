"""Prompts built from verifier feedback, as plain chat messages (no model code here).

teacher_messages: the self-teacher's context (paper Table 2): one user
message replaces the original user turn, system messages stay:
    <question>

    Correct solution:
    <a sibling attempt from the same round that passed>        (optional)

    The following is feedback from your unsuccessful earlier attempt:
    <this attempt's verifier feedback>                          (optional)

    Correctly solve the original question.
The student's own attempt is never quoted (it is the assistant turn being re-scored).
Following the paper's code, feedback is used only when no sibling solution exists.

multiturn_messages: the multi-turn baseline (paper §5.1): the question, ALL past
feedback strings (oldest dropped first past the context budget), then the instruction.

hint: how much of the feedback the teacher sees (`--hint`, docs/method.md): `full` (the
paper's), `first` (the verdict and its first block: one failing test with its input,
output and expected output, or the error), `error` (the verdict's first two lines: the
verdict and the error or the test count). A smaller model may read a shorter hint
better; `sdpo probe` measures each one's effect.
"""

from __future__ import annotations

from typing import Callable

from .problem import Problem

HINTS = ("full", "first", "error")
SOLUTION_HEADER = "Correct solution:"
FEEDBACK_HEADER = "The following is feedback from your unsuccessful earlier attempt:"
INSTRUCTION = "Correctly solve the original question."


def _replace_user(problem: Problem, content: str) -> list[dict[str, str]]:
    system = [{"role": "system", "content": problem.system}] if problem.system else []
    return system + [{"role": "user", "content": content}]


def teacher_messages(
    problem: Problem, feedback: str | None, demonstration: str | None, max_feedback_chars: int
) -> list[dict[str, str]] | None:
    """The teacher context, or None when there is no signal (no demonstration and no
    feedback): such an attempt is masked out of the loss."""
    parts = [problem.prompt]
    if demonstration:
        parts += [f"{SOLUTION_HEADER}\n{demonstration}"]
    elif feedback and feedback.strip():
        parts += [f"{FEEDBACK_HEADER}\n{_cap(feedback.strip(), max_feedback_chars)}"]
    else:
        return None
    return _replace_user(problem, "\n\n".join(parts + [INSTRUCTION]))


def hint_text(feedback: str, hint: str) -> str:
    """The part of a verifier's feedback that the `hint` format keeps."""
    if hint == "full":
        return feedback
    paragraphs = feedback.strip().split("\n\n")
    if hint == "first":
        return "\n\n".join(paragraphs[:2])
    return "\n".join(feedback.strip().splitlines()[:2])


def control_messages(problem: Problem) -> list[dict[str, str]]:
    """The teacher's reprompt with the feedback removed (the probe's control)."""
    return _replace_user(problem, f"{problem.prompt}\n\n{INSTRUCTION}")


def fit_teacher_messages(
    problem: Problem,
    feedback: str | None,
    demonstration: str | None,
    max_feedback_chars: int,
    max_tokens: int,
    count_tokens: Callable[[str], int],
) -> list[dict[str, str]] | None:
    """teacher_messages, with the feedback cut until the prompt fits `max_tokens`. The
    question and the closing instruction are always kept whole."""
    chars = max_feedback_chars
    while True:
        messages = teacher_messages(problem, feedback, demonstration, chars)
        if messages is None or count_tokens(messages[-1]["content"]) <= max_tokens or chars <= 200:
            return messages
        chars //= 2


def pick_demonstration(index: int, passed: list[bool], texts: list[str]) -> str | None:
    """A sibling's passing attempt for attempt `index`; never the attempt itself."""
    for other, ok in enumerate(passed):
        if ok and other != index:
            return texts[other]
    return None


def multiturn_messages(
    problem: Problem, past_feedback: list[str], max_tokens: int, count_tokens: Callable[[str], int]
) -> list[dict[str, str]]:
    """One user message with all past feedback; drops the oldest while over `max_tokens`."""
    kept = [f.strip() for f in past_feedback if f and f.strip()]
    while True:
        if kept:
            content = "\n\n".join([problem.prompt, FEEDBACK_HEADER, "\n\n".join(kept), INSTRUCTION])
        else:
            content = problem.prompt
        if not kept or count_tokens(content) <= max_tokens:
            return _replace_user(problem, content)
        kept = kept[1:]


def _cap(text: str, limit: int) -> str:
    marker = "\n... (feedback truncated)"
    return text if len(text) <= limit else text[: max(0, limit - len(marker))] + marker


def multiturn_chat_messages(
    problem: Problem,
    turns: list[tuple[str, str]],
    max_tokens: int,
    count_tokens: Callable[[str], int],
) -> list[dict[str, str]]:
    """The chat variant of the multi-turn baseline: real (attempt, feedback) turns, each
    feedback followed by the instruction; oldest turns dropped past `max_tokens`. The
    paper found this variant worse than the feedback-only prompt (paper §5.1)."""
    kept = list(turns)
    while True:
        messages = _replace_user(problem, problem.prompt)
        for attempt, feedback in kept:
            messages += [
                {"role": "assistant", "content": attempt},
                {"role": "user", "content": f"{FEEDBACK_HEADER}\n{feedback}\n\n{INSTRUCTION}"},
            ]
        if not kept or count_tokens("".join(m["content"] for m in messages)) <= max_tokens:
            return messages
        kept = kept[1:]
