"""Pull the final answer out of an attempt: `<answer>` tags, `\\boxed{}`, an
"Answer:" line, or the last non-empty line. Shared by the answer and arithmetic kinds.

Every method is a linear scan (str.find, or a pattern anchored on one line at a time):
patterns run over a whole attempt backtracked for minutes on runs of newlines or spaces.
"""

from __future__ import annotations

import re

from . import base
from .base import Verdict

METHODS = ("tag", "boxed", "answer_line", "last_line")
HOW_TO = {
    "tag": "Give the final answer between <answer> and </answer>.",
    "boxed": "Give the final answer as \\boxed{...}.",
    "answer_line": "End with a line of the form 'Answer: <your answer>'.",
    "last_line": "Put the final answer alone on the last line.",
}
# unambiguous quantifiers (no two runs of \s that could trade characters): linear per line
ANSWER_LABEL = re.compile(r"(?:\*+\s*)?(?:final\s+)?answer\s*(?:\*+\s*)?[:=]", re.IGNORECASE)


def extract(text: str, method: str) -> str | None:
    if method == "tag":
        return _last_tag(text)
    if method == "boxed":
        return _last_boxed(text)
    if method == "answer_line":
        return _last_answer_line(text)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def _last_tag(text: str) -> str | None:
    """The content of the last complete <answer>...</answer> pair (case-insensitive)."""
    lower, found, position = text.lower(), None, 0
    while (start := lower.find("<answer>", position)) >= 0:
        end = lower.find("</answer>", start + 8)
        if end < 0:
            break
        found, position = text[start + 8 : end], end + 9
    return found.strip() if found is not None else None


def _last_answer_line(text: str) -> str | None:
    """The value of the last "Answer: ..." line (also "Final answer =", "**Answer:**")."""
    found = None
    for line in text.split("\n"):
        line = line.lstrip()
        label = ANSWER_LABEL.match(line)
        if label is None or label.end() == len(line):
            continue
        found = line[label.end() :].lstrip().lstrip("*").rstrip().rstrip("*")
    return found.strip() if found is not None else None


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j].strip()
    return None


def missing_answer(method: str, what: str = "answer") -> Verdict:
    """The verdict on an attempt with no final answer: how to give one."""
    return Verdict(
        False,
        0.0,
        f"No final {what} was found. {HOW_TO[method]}",
        base.NO_ANSWER,
        {"extracted": None},
    )
