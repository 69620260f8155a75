"""What `sdpo check` verifies about a problem file, as data (no printing).

The schema and verifier options validate; the reference solution, where the problem
has one, passes on each of several runs (a flaky verifier is flagged; without a
reference this is a note, not a failure, as for benchmarks that ship none); trivial
attempts fail with non-empty feedback; kinds that show visible tests also keep hidden
ones; verifier time is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EnvironmentProblem, ProblemError, VerifierError
from .verifiers.registry import load_checked

REFERENCE_RUNS = 3


@dataclass
class CheckReport:
    path: str
    problem_id: str | None = None
    kind: str | None = None
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What could not be checked, without failing the file (a benchmark without
    reference solutions)."""
    verifier_seconds: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "id": self.problem_id,
            "kind": self.kind,
            "ok": self.ok,
            "failures": self.failures,
            "notes": self.notes,
            "verifier_seconds_max": max(self.verifier_seconds, default=0.0),
        }


def check_problem(path: str | Path) -> CheckReport:
    """Check one file; a file that does not load or a verifier that breaks is a failure
    of this file's report, so the other files are still checked."""
    report = CheckReport(str(path))
    try:
        return _check(path, report)
    except VerifierError as exc:
        report.failures.append(f"verifier broke: {exc.what}")
        return report


def _check(path: str | Path, report: CheckReport) -> CheckReport:
    try:
        problem, verifier = load_checked(path)
    except ProblemError as exc:
        report.failures.append(f"invalid: {exc.what}")
        return report
    except EnvironmentProblem as exc:  # a verifier kind whose extra is not installed
        report.failures.append(f"cannot be verified here: {exc.what} ({exc.hint})")
        return report
    report.problem_id, report.kind = problem.id, problem.verifier_kind
    if problem.reference is None:
        report.notes.append("no reference solution: whether the tests can be passed is unchecked")
    else:
        outcomes = []
        for _ in range(REFERENCE_RUNS):
            verdict = verifier.verify(problem.reference)
            outcomes.append(verdict.passed)
            report.verifier_seconds.append(verdict.seconds)
            if not verdict.passed:
                first_line = verdict.feedback.splitlines()[0] if verdict.feedback else ""
                report.failures.append(f"reference solution failed: {first_line}")
                break
        if len(set(outcomes)) > 1:
            report.failures.append(
                "flaky verifier: the reference passed on some runs and failed on others"
            )
    for name, attempt in verifier.trivial_attempts().items():
        verdict = verifier.verify(attempt)
        report.verifier_seconds.append(verdict.seconds)
        if verdict.passed:
            report.failures.append(f"trivial attempt passed: {name}")
        elif not verdict.feedback.strip():
            report.failures.append(f"trivial attempt gave no feedback: {name}")
    visible, hidden = verifier.test_counts()
    if visible and not hidden:
        report.failures.append(
            "visible tests but no hidden tests: 'passed' must rest on tests the teacher never sees"
        )
    return report
