"""`sdpo report DIR`: re-render a compare's tables, JSON, markdown and plots from its logs."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    directory: Path = typer.Argument(
        ..., metavar="DIR", help="Output directory of `sdpo compare`."
    ),
    tested: str = typer.Option(
        "",
        "--tested",
        help="Arms under test, comma-separated labels as in the compare (e.g. "
        "'sdpo[hybrid=0.5]'); every other arm becomes a baseline it is measured against. "
        "Default: the compare's own.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Re-render the reports of a compare without recomputing any job."""
    from ..compare.arms import split_specs
    from .compare import render

    render(directory, json_output, tested=split_specs(tested) if tested else None)
