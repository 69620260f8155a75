"""`sdpo compare`: the same problems with SDPO and the baselines over several seeds;
discovery@k curves, attempts to solve, intervals, a markdown report and a plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..errors import EXIT_INTERNAL, EXIT_OK, UsageError
from . import live, options
from .output import emit_json, err, protect_stdout


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)


def compare(
    problems: list[Path] = typer.Argument(
        ..., metavar="PROBLEM_OR_DIR...", help="Problem files or directories."
    ),
    methods: str = typer.Option(
        "sdpo",
        help="Arms under test, comma-separated method specs with optional overrides: "
        "sdpo, sdpo[lr=3e-4,teacher=frozen].",
    ),
    baselines: str = typer.Option(
        "bestofk,multiturn",
        help="Baseline arms, as specs: bestofk, multiturn, multiturn-chat, "
        "multiturn[batch=1] (one attempt per turn), bestofk[temperature=0.7].",
    ),
    budget: int = options.COMPARE_BUDGET,
    seeds: int = options.SEEDS,
    pool: int = options.POOL,
    pool_batch: int = options.POOL_BATCH,
    batch: int = options.BATCH,
    context_tokens: int = options.CONTEXT_TOKENS,
    model: str = options.MODEL,
    backend: str = options.BACKEND,
    temperature: float = options.TEMPERATURE,
    top_p: float = options.TOP_P,
    max_new_tokens: int = options.MAX_NEW_TOKENS,
    lr: float = options.LEARNING_RATE,
    dtype: str = options.DTYPE,
    model_args: str = options.MODEL_ARGS,
    chat_template_args: str = options.CHAT_TEMPLATE_ARGS,
    config_file: Optional[Path] = options.CONFIG,
    workers: int = options.WORKERS,
    ray: Optional[str] = typer.Option(
        None,
        "--ray",
        help="Run the jobs on Ray: 'local' starts a local "
        "runtime, else a cluster address (ray://host:10001).",
    ),
    ray_gpus: float = typer.Option(0.0, help="With --ray: GPUs each worker needs."),
    out: Path = typer.Option(Path("compare-out"), help="Output directory (resumable)."),
    json_output: bool = options.JSON,
) -> None:
    """Compare SDPO against best-of-k and multi-turn on the same problems and budget."""
    protect_stdout()
    from ..compare.arms import parse_arms
    from ..compare.jobs import plan
    from ..config import CompareConfig, solve_config
    from ..verifiers.registry import load_checked
    from .check import expand

    tested, controls = parse_arms(methods), parse_arms(baselines)
    arms = tested + [a for a in controls if a.label not in {t.label for t in tested}]
    design = CompareConfig(
        budget=budget,
        seeds=seeds,
        pool=pool,
        pool_batch=pool_batch,
        context_tokens=context_tokens,
        workers=workers,
    )
    base = {
        "budget": budget,
        "batch": batch,
        "model": model,
        "backend": backend,
        "temperature": temperature,
        "top_p": top_p,
        "max_new_tokens": max_new_tokens,
        "learning_rate": lr,
        "dtype": dtype,
        "model_args": model_args,
        "chat_template_args": chat_template_args,
    }
    solve_config(**base)  # validates the shared settings before any model loads
    pool = design.pool_size
    files = expand(problems)
    if not files:
        raise UsageError("no problem files found", ", ".join(map(str, problems)))
    loaded = [load_checked(path)[0] for path in files]  # validate all before any model loads
    jobs = plan(
        [(str(p.path), p.id) for p in loaded], arms, seeds, base, pool, pool_batch, context_tokens
    )
    settings = {
        "budget": budget,
        "seeds": seeds,
        "pool": pool,
        "pool_batch": pool_batch,
        "batch": batch,
        "model": model,
        "backend": backend,
        "dtype": dtype,
        "model_args": model_args,
        "chat_template_args": chat_template_args,
        "arms": [a.label for a in arms],
        "tested": [a.label for a in tested],
        "temperature": temperature,
        "top_p": top_p,
        "max_new_tokens": max_new_tokens,
        "lr": lr,
        "context_tokens": context_tokens,
        "jobs": [j.to_json() for j in jobs],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(settings, indent=1))
    err.print(
        f"{len(jobs)} jobs ({len(loaded)} problems x {', '.join(settings['arms'])}); output: {out}"
    )
    failed = []
    if ray is not None:
        from ..compare.on_ray import run_on_ray

        failed = run_on_ray(
            jobs, out, ray, progress=show_jobs, workers=workers if workers > 1 else 0, gpus=ray_gpus
        )
    else:
        from ..compare.local import run_local

        with live.status(json_output):  # the phases of jobs run in this process
            run_local(jobs, out, workers=workers, progress=show_jobs)
    if failed:
        err.print(
            f"{len(failed)} job(s) failed after retries: {', '.join(failed)}; rerun the same "
            "command to retry them",
        )
    render(out, json_output, EXIT_INTERNAL if failed else EXIT_OK)


def show_jobs(info: dict) -> None:
    line = (
        f"jobs: {info['done']}/{info['total']} done, {info['running']} running, "
        f"{info['queued']} queued"
    )
    if info.get("failed"):
        line += f", {info['failed']} failed"
    if info.get("job"):
        line += f" ({info['job']})"
    err.print(line)


def render(
    out: Path, json_output: bool, exit_code: int = 0, tested: list[str] | None = None
) -> None:
    """Analyse the jobs' logs in `out` and print/write every report; `tested` overrides
    the compare's arms under test (labels of arms it ran)."""
    from rich.table import Table

    from ..compare.analysis import analyse, load_runs, read_json_object
    from ..compare.report import HEADER, power_lines, rows, write_all
    from .output import out as stdout

    settings_path = out / "compare.json"
    if not settings_path.exists():
        raise UsageError("not a compare output directory (no compare.json)", str(out))
    settings = read_json_object(settings_path, required=("budget", "seeds"))
    runs = load_runs(out)
    if not runs:
        raise UsageError("no finished jobs to report yet", str(out), "run or resume `sdpo compare`")
    if tested is not None:
        ran = {run["arm"] for run in runs}
        if unknown := sorted(set(tested) - ran):
            raise UsageError(
                "--tested names an arm with no finished job",
                ", ".join(unknown),
                "arms: " + ", ".join(sorted(ran)),
            )
        settings["tested"] = tested
    analysis = analyse(runs, settings.get("tested"))
    files = write_all(analysis, {k: v for k, v in settings.items() if k != "jobs"}, out)
    if json_output:
        emit_json(
            "compare",
            {
                "settings": {k: v for k, v in settings.items() if k != "jobs"},
                "files": files,
                **analysis,
            },
        )
    else:
        table = Table(
            title=f"sdpo compare (budget {settings['budget']}, {settings['seeds']} seeds)"
        )
        for column in HEADER:
            table.add_column(column)
        for row in rows(analysis):
            table.add_row(*row)
        stdout.print(table)
        for line in power_lines(analysis):
            err.print(line)
        err.print(
            f"report: {files['markdown']}" + (f", plot: {files['plot']}" if "plot" in files else "")
        )
    raise typer.Exit(exit_code)
