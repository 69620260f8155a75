"""`sdpo calibrate PROBLEM_OR_DIR...`: pass counts of i.i.d. pools per problem and
sampling setting (a grid of temperatures and top-p values), recorded in the problem
files; `--select LOW-HIGH` chooses the setting that puts the most problems in that band
of passes, and `--into DIR` copies them (methods/calibrate.py)."""

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


def parse_levels(text: str, flag: str) -> list[float]:
    try:
        levels = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a list of numbers") from None
    if not levels:
        raise UsageError(f"{flag} must name one or more values")
    return levels


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
    top_ps: str = typer.Option("1.0", help="Comma-separated top-p values (with each temperature)."),
    select: Optional[str] = typer.Option(
        None,
        help="LOW-HIGH: choose, among the settings every problem has been calibrated at "
        "(now or before), the one with the most problems with that many passes (ties: "
        "higher temperature, then higher top-p).",
    ),
    into: Optional[Path] = typer.Option(
        None, help="With --select: copy the problems in the band at the chosen setting here."
    ),
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
    from ..methods.calibrate import choose_setting, record_calibration, recorded, shared_records
    from ..methods.calibrate import select as copy_band
    from ..methods.engine import load_engine
    from ..verifiers.registry import load_checked
    from .check import expand

    settings = [
        (temperature, top_p)
        for temperature in parse_levels(temperatures, "--temperatures")
        for top_p in parse_levels(top_ps, "--top-ps")
    ]
    for temperature, top_p in settings:
        SamplingConfig(temperature=temperature, top_p=top_p)  # validates each
    band = parse_band(select) if select else None
    if into is not None and band is None:
        raise UsageError("--into needs --select LOW-HIGH")
    if samples < 1:
        raise UsageError("--samples must be at least 1")
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
    engine, results = None, []
    try:
        for path, problem, verifier in loaded:
            for temperature, top_p in settings:
                record = recorded(problem, model, samples, temperature, top_p)
                if record is None:
                    engine = engine or load_engine(config)
                    err.print(
                        f"calibrating {problem.id} at temperature {temperature:g}, "
                        f"top-p {top_p:g} ..."
                    )
                    record = run_pool(
                        engine, problem, verifier, config, samples, temperature, top_p, pool_batch
                    )
                    first = (temperature, top_p) == settings[0]
                    record_calibration(path, record, label_from_it=first)
                results.append({"problem": problem.id, "path": str(path), **record})
    finally:
        if engine is not None:
            engine.close()
    chosen, copied = None, []
    if band:
        on_record = shared_records(paths, model, samples)  # this call's and earlier ones'
        chosen = choose_setting(on_record, *band)
        at_chosen = {
            r["path"]: r
            for r in on_record
            if (r["temperature"], r["top_p"]) == (chosen["temperature"], chosen["top_p"])
        }
        copied = copy_band(paths, at_chosen, *band, into) if into is not None else []
    if json_output:
        emit_json("calibrate", {"results": results, "chosen": chosen, "selected": copied})
    else:
        table = Table(title=f"sdpo calibrate ({samples} samples per pool)")
        for column in ("problem", "temperature", "top-p", "passes", "share"):
            table.add_column(column)
        for r in results:
            table.add_row(
                r["problem"],
                f"{r['temperature']:g}",
                f"{r['top_p']:g}",
                f"{r['passes']}/{r['samples']}",
                f"{r['passes'] / r['samples']:.0%}",
            )
        out.print(table)
        if chosen:
            err.print(
                f"chosen: --temperature {chosen['temperature']:g} --top-p {chosen['top_p']:g} "
                f"({chosen['in_band']} problem(s) with {band[0]}-{band[1]} passes)"
            )
        if into is not None:
            err.print(f"{len(copied)} problem(s) copied into {into}")
    raise typer.Exit(EXIT_OK)
