"""Pull the final answer out of an attempt: `<answer>` tags, `\\boxed{}`, an
"Answer:" line, or the last non-empty line. Shared by the answer and arithmetic kinds."""

from __future__ import annotations

import re

METHODS = ("tag", "boxed", "answer_line", "last_line")
HOW_TO = {
    "tag": "Give the final answer between <answer> and </answer>.",
    "boxed": "Give the final answer as \\boxed{...}.",
    "answer_line": "End with a line of the form 'Answer: <your answer>'.",
    "last_line": "Put the final answer alone on the last line.",
}
TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
ANSWER_LINE = re.compile(r"^\s*\**\s*(?:final\s+)?answer\s*\**\s*[:=]\s*\**(.+?)\**\s*$",
                         re.IGNORECASE | re.MULTILINE)


def extract(text: str, method: str) -> str | None:
    if method == "tag":
        found = TAG.findall(text)
        return found[-1].strip() if found else None
    if method == "boxed":
        return _last_boxed(text)
    if method == "answer_line":
        found = ANSWER_LINE.findall(text)
        return found[-1].strip() if found else None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


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
