"""`sdpo verify PROBLEM --attempt FILE`: run the verifier on one attempt.

Exit 0 passed, 1 failed, 2 bad problem file or attempt path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.text import Text

from ..errors import EXIT_OK, EXIT_UNSOLVED, UsageError
from .output import emit_json, out


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)


def verify(
    problem_path: Path = typer.Argument(..., metavar="PROBLEM", help="Problem file (JSON)."),
    attempt: str = typer.Option(
        ..., "--attempt", "-a", help="File with the attempt's text, or - for stdin."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Verify one attempt and print the verdict."""
    from ..verifiers.registry import load_checked

    problem, verifier = load_checked(problem_path)
    text = read_attempt(attempt)
    verdict = verifier.verify(text)
    if json_output:
        emit_json("verdict", {"problem": problem.id, **verdict.to_json()})
    else:
        status = Text("PASSED", "green") if verdict.passed else Text("FAILED", "red")
        out.print(
            Text.assemble(
                status,
                f"  {problem.id}  score {verdict.score:.2f}  "
                f"({verdict.failure_type or 'ok'}, {verdict.seconds:.2f} s)",
            )
        )
        out.print(verdict.feedback)
    raise typer.Exit(EXIT_OK if verdict.passed else EXIT_UNSOLVED)


def read_attempt(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the attempt: {exc}", source) from None
