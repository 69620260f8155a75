"""`sdpo calibrate PROBLEM_OR_DIR...`: pass counts of i.i.d. pools per problem and
temperature, recorded in the problem files; `--select LOW-HIGH --into DIR` copies the
frontier (methods/calibrate.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..errors import EXIT_OK, UsageError
from . import options
from .output import emit_json, err, out, protect_stdout


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)


def parse_band(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        band = int(low), int(high)
    except ValueError:
        raise UsageError(f"--select {text!r} is not a range LOW-HIGH of pass counts") from None
    if not 0 <= band[0] <= band[1]:
        raise UsageError(f"--select {text!r} is not a range LOW-HIGH of pass counts")
    return band


def calibrate(
    problems: list[Path] = typer.Argument(
        ..., metavar="PROBLEM_OR_DIR...", help="Problem files or directories."
    ),
    samples: int = typer.Option(32, help="Attempts in each problem's pool."),
    temperatures: str = typer.Option("1.0", help="Comma-separated sampling temperatures."),
    select: Optional[str] = typer.Option(
        None, help="LOW-HIGH: copy the problems with that many passes (first temperature)."
    ),
    into: Optional[Path] = typer.Option(None, help="With --select: the folder to copy into."),
    pool_batch: int = options.POOL_BATCH,
    seed: int = options.SEED,
    model: str = options.MODEL,
    backend: str = options.BACKEND,
    max_new_tokens: int = options.MAX_NEW_TOKENS,
    dtype: str = options.DTYPE,
    model_args: str = options.MODEL_ARGS,
    chat_template_args: str = options.CHAT_TEMPLATE_ARGS,
    config_file: Optional[Path] = options.CONFIG,
    json_output: bool = options.JSON,
) -> None:
    """Sample an i.i.d. pool per problem, record its pass count, pick the frontier."""
    protect_stdout()
    from ..config import SamplingConfig, solve_config
    from ..methods.calibrate import calibrate as run_pool
    from ..methods.calibrate import record_calibration, recorded
    from ..methods.calibrate import select as copy_band
    from ..methods.engine import load_engine
    from ..verifiers.registry import load_checked
    from .check import expand

    try:
        levels = [float(t) for t in temperatures.split(",") if t.strip()]
    except ValueError:
        raise UsageError(f"--temperatures {temperatures!r} is not a list of numbers") from None
    for level in levels:
        SamplingConfig(temperature=level)  # validates each
    band = parse_band(select) if select else None
    if band and into is None:
        raise UsageError("--select needs --into DIR")
    if samples < 1 or not levels:
        raise UsageError("--samples must be at least 1 and --temperatures name one or more")
    config = solve_config(
        seed=seed,
        model=model,
        backend=backend,
        max_new_tokens=max_new_tokens,
        dtype=dtype,
        model_args=model_args,
        chat_template_args=chat_template_args,
    )
    paths = expand(problems)
    loaded = [(path, *load_checked(path)) for path in paths]  # all valid before any model
    engine, results, first = None, [], {}
    try:
        for path, problem, verifier in loaded:
            for level in levels:
                record = recorded(problem, model, samples, level)
                if record is None:
                    engine = engine or load_engine(config)
                    err.print(f"calibrating {problem.id} at temperature {level:g} ...")
                    record = run_pool(engine, problem, verifier, config, samples, level, pool_batch)
                    record_calibration(path, record, label_from_it=level == levels[0])
                results.append({"problem": problem.id, "path": str(path), **record})
                if level == levels[0]:
                    first[str(path)] = record
    finally:
        if engine is not None:
            engine.close()
    chosen = copy_band(paths, first, *band, into) if band else []
    if json_output:
        emit_json("calibrate", {"results": results, "selected": chosen})
    else:
        table = Table(title=f"sdpo calibrate ({samples} samples per pool)")
        for column in ("problem", "temperature", "passes", "share"):
            table.add_column(column)
        for r in results:
            table.add_row(
                r["problem"],
                f"{r['temperature']:g}",
                f"{r['passes']}/{r['samples']}",
                f"{r['passes'] / r['samples']:.0%}",
            )
        out.print(table)
        if band:
            err.print(
                f"{len(chosen)} problem(s) with {band[0]}-{band[1]} passes copied into {into}"
            )
    raise typer.Exit(EXIT_OK)
