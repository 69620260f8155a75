"""The verdict a verifier returns and the base class every verifier kind derives from.

A failed attempt is data, not an exception: wrong answers, crashes and timeouts all end
as a Verdict with feedback for the teacher (docs/method.md, "Feedback"). Only a broken
harness raises VerifierError. Every verdict leaves here as text that any terminal, JSON
writer or tokenizer takes: lone surrogates (from an exception message or a checker's
JSON escapes) are replaced. An attempt longer than MAX_ATTEMPT_CHARS is refused before
any parsing. Nothing here imports torch.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from ..errors import ProblemError
from ..problem import Problem

# Failure types shared by the built-in kinds (the paper's code environment, paper §4).
WRONG_ANSWER = "wrong_answer"
RUNTIME_ERROR = "runtime_error"
TIME_LIMIT = "time_limit_exceeded"
MEMORY_LIMIT = "memory_limit_exceeded"
OUTPUT_LIMIT = "output_limit_exceeded"
INCORRECT_FORMAT = "incorrect_format"
TOO_LONG = "attempt_too_long"
NO_ANSWER = "no_answer"
PARSE_ERROR = "parse_error"


@dataclass
class Verdict:
    passed: bool
    score: float
    feedback: str
    failure_type: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Verdict":
        return cls(**data)


MAX_ATTEMPT_CHARS = 1_000_000
"""Longest attempt text a verifier parses: about 250k tokens, far beyond any attempt
length a run samples, and every extraction is linear, so this bounds its time too."""


def clean_text(text: str) -> str:
    """The text with lone surrogates (unencodable in UTF-8) replaced by '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def cap_text(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, saying that it was cut."""
    if len(text) <= limit:
        return text
    marker = "\n... (truncated)"
    return text[: max(0, limit - len(marker))] + marker


class Verifier:
    """Base class of a verifier kind. Subclasses set `kind`, parse their options in
    __init__ (raising via `self.option_error`) and implement `check`."""

    kind: ClassVar[str] = ""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.options = problem.verifier
        self.limits = problem.limits

    def check(self, attempt: str) -> Verdict:
        raise NotImplementedError

    def trivial_attempts(self) -> dict[str, str]:
        """Attempts that must fail (used by `sdpo check`): name -> attempt text."""
        return {"empty text": ""}

    def test_counts(self) -> tuple[int, int]:
        """(visible, hidden) test counts; (0, 0) for kinds without test cases."""
        return (0, 0)

    def verify(self, attempt: str) -> Verdict:
        """Run `check` (refusing an over-long attempt), time it, clean and cap the feedback."""
        start = time.monotonic()
        if len(attempt) > MAX_ATTEMPT_CHARS:
            verdict = Verdict(
                False,
                0.0,
                f"Incorrect Format\nThe attempt is {len(attempt):,} characters "
                f"long; at most {MAX_ATTEMPT_CHARS:,} are read.",
                TOO_LONG,
                {},
            )
        else:
            verdict = self.check(attempt)
        verdict.seconds = round(time.monotonic() - start, 4)
        verdict.feedback = cap_text(clean_text(verdict.feedback), self.limits.feedback_chars)
        verdict.details = _clean(verdict.details)
        verdict.score = float(min(1.0, max(0.0, verdict.score)))
        return verdict

    # -- option parsing helpers ------------------------------------------------
    def option_error(self, name: str, message: str) -> ProblemError:
        value = self.options.get(name)
        return ProblemError(
            f"field 'verifier.{name}' = {value!r:.60} {message}",
            str(self.problem.path or "<inline problem>"),
        )

    def option(self, name: str, kind: type | tuple, default: Any = ..., choices=None) -> Any:
        if name not in self.options:
            if default is ...:
                raise ProblemError(
                    f"missing field 'verifier.{name}' for kind {self.kind!r}",
                    str(self.problem.path or "<inline problem>"),
                    "see problems/README.md",
                )
            return default
        value = self.options[name]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.option_error(name, f"must be of type {names}")
        if choices is not None and value not in choices:
            raise self.option_error(name, f"must be one of {', '.join(map(str, choices))}")
        return value

    def reject_unknown_options(self, known: set[str]) -> None:
        unknown = sorted(set(self.options) - known - {"kind"})
        if unknown:
            raise self.option_error(
                unknown[0],
                f"is not an option of kind {self.kind!r} (known: {', '.join(sorted(known))})",
            )
