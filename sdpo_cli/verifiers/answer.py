"""`answer` verifier: extract a final answer and compare it with the expected one.

Comparisons: exact, normalised text (case, spaces, surrounding punctuation), numeric
with a tolerance, or one of several accepted answers (a list in `expected`). Feedback
says what was extracted and that it is wrong, or that no answer was found and how to
give one; it never reveals the expected answer. Runs no code.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from ..problem import Problem
from . import base
from .base import Verdict, Verifier
from .extraction import METHODS, extract, missing_answer

COMPARES = ("exact", "normalized", "numeric")


def normalise(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip().lower())
    return text.strip(" .,;:!\"'`*$")


MAX_NUMBER_CHARS = 100


def parse_number(text: str) -> float | None:
    """A decimal, fraction or scientific number as a float; None for anything else,
    including text too long to be one and values beyond a float's range (an exponent
    such as 1e999999999 would otherwise be expanded digit by digit)."""
    cleaned = normalise(text).replace(",", "")
    if len(cleaned) > MAX_NUMBER_CHARS:
        return None
    try:
        value = float(cleaned) if "e" in cleaned else float(Fraction(cleaned))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value if math.isfinite(value) else None


class AnswerVerifier(Verifier):
    kind = "answer"

    def __init__(self, problem: Problem):
        super().__init__(problem)
        self.reject_unknown_options({"expected", "extract", "compare", "tolerance"})
        expected = self.option("expected", (str, int, float, list))
        self.expected = [str(e) for e in (expected if isinstance(expected, list) else [expected])]
        if not self.expected or not all(
            isinstance(e, (str, int, float))
            for e in (expected if isinstance(expected, list) else [expected])
        ):
            raise self.option_error("expected", "must be an answer or a non-empty list of answers")
        self.method = self.option("extract", str, "answer_line", choices=METHODS)
        self.compare = self.option("compare", str, "normalized", choices=COMPARES)
        self.tolerance = float(self.option("tolerance", (int, float), 1e-6))
        if self.compare == "numeric" and any(parse_number(e) is None for e in self.expected):
            raise self.option_error("expected", "must be numbers when compare is 'numeric'")

    def trivial_attempts(self) -> dict[str, str]:
        wrong = "0" if self.compare == "numeric" else "no idea"
        if wrong in self.expected:
            wrong = "1"
        formatted = {
            "tag": f"<answer>{wrong}</answer>",
            "boxed": f"\\boxed{{{wrong}}}",
            "answer_line": f"Answer: {wrong}",
            "last_line": wrong,
        }[self.method]
        return {"empty text": "", "wrong constant answer": formatted}

    def check(self, attempt: str) -> Verdict:
        found = extract(attempt, self.method)
        if found is None or not found.strip():
            return missing_answer(self.method)
        if any(self._matches(found, e) for e in self.expected):
            return Verdict(
                True, 1.0, f"Correct: the answer {found!r} is right.", None, {"extracted": found}
            )
        hint = ""
        if self.compare == "numeric" and parse_number(found) is None:
            hint = " It is not a number; give the answer as a plain number."
        return Verdict(
            False,
            0.0,
            f"Wrong Answer\nYour final answer was {found[:250]!r}, which is not correct.{hint}",
            base.WRONG_ANSWER,
            {"extracted": found},
        )

    def _matches(self, found: str, expected: str) -> bool:
        if self.compare == "exact":
            return found.strip() == expected.strip()
        if self.compare == "normalized":
            return normalise(found) == normalise(expected)
        value, target = parse_number(found), parse_number(expected)
        return value is not None and math.isclose(
            value, target, rel_tol=self.tolerance, abs_tol=self.tolerance
        )
