"""`sdpo probe PROBLEM...`: will self-distillation pay on this problem? (methods/probe.py)"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from ..errors import EXIT_OK
from . import options
from .output import emit_json, err, out, protect_stdout


def register(app: typer.Typer) -> None:
    app.command("probe")(probe)


def probe(
    problems: list[Path] = typer.Argument(
        ..., metavar="PROBLEM...", help="Problem files or directories."
    ),
    samples: int = options.PROBE_SAMPLES,
    hints: str = typer.Option(
        "full",
        help="Comma-separated feedback formats to measure (full, first, error); the first "
        "one's teacher makes the recommendation, and the report names the strongest.",
    ),
    seed: int = options.SEED,
    model: str = options.MODEL,
    backend: str = options.BACKEND,
    temperature: float = options.TEMPERATURE,
    top_p: float = options.TOP_P,
    max_new_tokens: int = options.MAX_NEW_TOKENS,
    dtype: str = options.DTYPE,
    model_args: str = options.MODEL_ARGS,
    chat_template_args: str = options.CHAT_TEMPLATE_ARGS,
    config_file: Optional[Path] = options.CONFIG,
    json_output: bool = options.JSON,
) -> None:
    """Measure student vs self-teacher on each problem and recommend sdpo, multiturn or bestofk."""
    protect_stdout()
    from ..config import ProbeConfig, TrainConfig, solve_config
    from ..methods.base import MethodContext
    from ..methods.engine import load_engine
    from ..methods.probe import probe as run_probe
    from ..verifiers.registry import load_checked
    from .check import expand

    samples = ProbeConfig(samples=samples).samples
    formats = tuple(h.strip() for h in hints.split(",") if h.strip())
    for hint in formats:
        TrainConfig(hint=hint)  # validates each
    config = solve_config(
        seed=seed,
        model=model,
        backend=backend,
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
        dtype=dtype,
        model_args=model_args,
        chat_template_args=chat_template_args,
    )
    loaded = [load_checked(path) for path in expand(problems)]
    engine = load_engine(config)
    reports = {}
    try:
        for problem, verifier in loaded:
            err.print(f"probing {problem.id} ...")
            context = MethodContext(problem, verifier, engine.policy, engine.sampler, config)
            reports[problem.id], _ = run_probe(context, samples, hints=formats)
    finally:
        engine.close()
    if json_output:
        emit_json("probe", {"samples": samples, "backend": engine.backend, "problems": reports})
    else:
        out.print(_table(reports))
        for pid, report in reports.items():
            out.print(
                Text.assemble(
                    f"{pid}: ", (report["recommendation"], "bold"), f": {report['reason']}"
                )
            )
            if "best_hint" in report:
                out.print(f"{pid}: strongest feedback format: {report['best_hint']}")
    raise typer.Exit(EXIT_OK)


def _table(reports: dict) -> Table:
    table = Table(title="sdpo probe: pass rates [90% CI] and log-prob of the reference (nat/token)")
    for column in (
        "problem",
        "student",
        "teacher",
        "control",
        "feedback: pass gain [90% CI]",
        "feedback: ref log-prob [90% CI]",
        "ref: control-student",
        "SDPO loss",
        "failures",
        "recommend",
    ):
        table.add_column(column)

    def rate(r):
        if not r["n"]:
            return "-"
        low, high = r["ci90"]
        return f"{r['passes']}/{r['n']} [{low:.2f},{high:.2f}]"

    def effect(e, digits):
        if not e or e.get("ci90", [None])[0] is None:
            return "-"
        value = e.get("difference", e.get("mean"))
        low, high = e["ci90"]
        return f"{value:+.{digits}f} [{low:+.{digits}f},{high:+.{digits}f}]"

    for pid, r in reports.items():
        ref = r.get("reference_logprob", {})
        feedback = r.get("feedback_effect", {})
        fmt = lambda v: "-" if v is None else f"{v:+.3f}"  # noqa: E731
        loss = r.get("initial_sdpo_loss")
        table.add_row(
            pid,
            rate(r["pass_rate"]["student"]),
            rate(r["pass_rate"]["teacher"]),
            rate(r["pass_rate"]["control"]),
            effect(feedback.get("pass_rate"), 2),
            effect(feedback.get("reference_logprob"), 3),
            fmt(ref.get("template_effect")),
            "-" if loss is None else f"{loss:.4f}",
            ", ".join(f"{k} {v}" for k, v in r["failure_kinds"].items()) or "-",
            r["recommendation"],
        )
    return table
