"""`sdpo check PROBLEM...`: validate problem files and their verifiers (see checking.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from ..errors import EXIT_OK, EXIT_UNSOLVED
from .output import emit_json, err


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def expand(paths: list[Path]) -> list[Path]:
    """Problem files from files and directories (a directory means its *.json files)."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.json")) if path.is_dir() else [path]
    return files


def check(
    problems: list[Path] = typer.Argument(
        ..., metavar="PROBLEM...", help="Problem files or directories."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Validate problem files: schema, reference passes 3 times, trivial attempts fail."""
    from ..checking import check_problem
    from ..verifiers.sandbox import PROTECTIONS, isolation

    mode = isolation()
    reports = [check_problem(path) for path in expand(problems)]
    ok = all(r.ok for r in reports)
    if json_output:
        emit_json(
            "check",
            {
                "ok": ok,
                "sandbox": {"mode": mode, "protections": PROTECTIONS[mode]},
                "problems": [r.to_json() for r in reports],
            },
        )
    else:
        table = Table(title=f"sdpo check ({len(reports)} problems)")
        for column in ("problem", "kind", "verifier s", "result"):
            table.add_column(column)
        for r in reports:
            result = Text("ok", "green") if r.ok else Text("; ".join(r.failures), "red")
            table.add_row(
                r.problem_id or r.path,
                r.kind or "?",
                f"{max(r.verifier_seconds, default=0):.2f}",
                result,
            )
        err.print(table)
        err.print(f"sandbox: {mode} ({', '.join(PROTECTIONS[mode])})")
    raise typer.Exit(EXIT_OK if ok else EXIT_UNSOLVED)
