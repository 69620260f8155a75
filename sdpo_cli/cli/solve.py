"""`sdpo solve`: learn on one problem with test-time SDPO until a verified solution.

Exit codes: 0 solved, 1 budget spent unsolved, 2 bad input, 3 environment, 4 internal,
130 interrupted (the run is marked cancelled and can be resumed).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.text import Text

from ..errors import EXIT_OK, EXIT_UNSOLVED, RunError, UsageError
from . import live, options
from .output import emit_json, err, print_out, protect_stdout


def register(app: typer.Typer) -> None:
    app.command("solve")(solve)


def solve(
    problem_path: Optional[Path] = typer.Argument(
        None, metavar="[PROBLEM]", help="Problem file (JSON)."
    ),
    budget: int = options.BUDGET,
    batch: int = options.BATCH,
    seed: int = options.SEED,
    model: str = options.MODEL,
    backend: str = options.BACKEND,
    temperature: float = options.TEMPERATURE,
    top_p: float = options.TOP_P,
    max_new_tokens: int = options.MAX_NEW_TOKENS,
    alpha: float = options.ALPHA,
    topk: int = options.TOPK,
    teacher: str = options.TEACHER,
    teacher_rate: float = options.TEACHER_RATE,
    lr: float = options.LEARNING_RATE,
    epochs: int = options.EPOCHS,
    hint: str = options.HINT,
    contrast: float = options.CONTRAST,
    contrast_gate: float = options.CONTRAST_GATE,
    hybrid: float = options.HYBRID,
    repeat_weight: float = options.REPEAT_WEIGHT,
    feedback_rounds: int = options.FEEDBACK_ROUNDS,
    lora_rank: int = options.LORA_RANK,
    lora_alpha: int = options.LORA_ALPHA,
    lora_targets: str = options.LORA_TARGETS,
    dtype: str = options.DTYPE,
    model_args: str = options.MODEL_ARGS,
    chat_template_args: str = options.CHAT_TEMPLATE_ARGS,
    config_file: Optional[Path] = options.CONFIG,
    confirm: int = options.CONFIRM,
    method: str = typer.Option(
        "sdpo",
        help="sdpo, bestofk, multiturn, multiturn-chat, or auto: probe first, then the "
        "recommended method.",
    ),
    probe_samples: int = options.AUTO_PROBE_SAMPLES,
    out: Optional[Path] = typer.Option(
        None, help="Run directory (default: runs/<problem>-<time>)."
    ),
    resume: Optional[Path] = typer.Option(None, help="Continue the run in this directory."),
    prompt: Optional[str] = typer.Option(None, help="Inline problem: the question text."),
    prompt_file: Optional[Path] = typer.Option(
        None, help="Inline problem: read the question from a file."
    ),
    verify_command: Optional[str] = typer.Option(None, help="Inline problem: a command verifier."),
    json_output: bool = options.JSON,
) -> None:
    """Sample, verify and learn on ONE problem until a verified solution or the budget."""
    protect_stdout()
    from ..config import ProbeConfig, SolveConfig, solve_config
    from ..problem import load_problem
    from ..runlog import FINISHED, RunLog, start_log
    from ..verifiers.registry import build_verifier, load_checked

    if resume is not None:
        log = RunLog.open(resume)
        if log.info.get("status") in FINISHED:
            summary = log.info.get("result", {})
            _finish(summary, json_output)
            return
        try:
            config = SolveConfig.from_json(log.info["config"])
        except (TypeError, ValueError, KeyError) as exc:
            raise RunError(
                f"run.json holds a configuration this sdpo cannot read: {exc}", str(resume)
            ) from None
        problem = load_problem(resume / "problem.json")
        verifier = build_verifier(problem)
        err.print(f"resuming {resume} ({len(log.attempts())} attempts logged)")
    else:
        if method != "auto":
            from ..methods.base import check_method_name

            check_method_name(method)
        config = solve_config(
            budget=budget,
            batch=batch,
            seed=seed,
            model=model,
            backend=backend,
            confirm=confirm,
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            alpha=alpha,
            topk=topk,
            teacher=teacher,
            teacher_rate=teacher_rate,
            learning_rate=lr,
            epochs=epochs,
            hint=hint,
            contrast=contrast,
            contrast_gate=contrast_gate,
            hybrid=hybrid,
            repeat_weight=repeat_weight,
            feedback_rounds=feedback_rounds,
            lora_rank=lora_rank,
            lora_alpha=lora_alpha,
            lora_targets=lora_targets,
            dtype=dtype,
            model_args=model_args,
            chat_template_args=chat_template_args,
        )
        probe = ProbeConfig(auto_samples=probe_samples)
        problem, verifier = _problem(
            problem_path, prompt, prompt_file, verify_command, load_checked
        )
        directory = out or Path("runs") / f"{problem.id}-{time.strftime('%Y%m%d-%H%M%S')}"
        log = start_log(directory, problem, config, method=method)
        log.update(probe_samples=probe.auto_samples)
        err.print(f"run directory: {log.dir}")
    from ..methods.solve_run import solve as run_solve

    with live.status(json_output) as shown:
        summary = run_solve(
            problem,
            verifier,
            config,
            log,
            progress=shown.round_line,
            resume=resume is not None,
            method=log.info.get("method", "sdpo"),
            probe_samples=log.info.get("probe_samples", 8),
        )
    _finish(summary, json_output)


def _problem(path, prompt, prompt_file, verify_command, load_checked):
    from ..problem import problem_from_dict
    from ..verifiers.registry import build_verifier

    inline = prompt is not None or prompt_file is not None or verify_command is not None
    if path is not None and inline:
        raise UsageError(
            "give either a problem file or --prompt/--prompt-file with --verify-command"
        )
    if path is not None:
        return load_checked(path)
    if not inline:
        raise UsageError(
            "no problem given",
            hint="sdpo solve PROBLEM.json, or --prompt TEXT --verify-command CMD",
        )
    if verify_command is None or (prompt is None) == (prompt_file is None):
        raise UsageError(
            "an inline problem needs --verify-command and one of --prompt or --prompt-file"
        )
    if prompt_file is not None:
        try:
            prompt = prompt_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"cannot read the prompt file: {exc.strerror}", str(prompt_file)
            ) from None
    problem = problem_from_dict(
        {
            "id": "inline",
            "prompt": prompt,
            "verifier": {"kind": "command", "command": verify_command},
        }
    )
    return problem, build_verifier(problem)


def _finish(summary: dict, json_output: bool) -> None:
    if json_output:
        emit_json("solve", summary)
    elif summary.get("solved"):
        err.print(
            Text.assemble(
                ("solved", "green"),
                f" {summary['problem']} at attempt {summary['attempts_to_solve']} "
                f"of {summary['budget']} in {summary['timings']['total_s']:.0f} s; "
                f"run: {summary['run_dir']}",
            )
        )
        if summary.get("confirm"):
            c = summary["confirm"]
            err.print(
                f"confirm: {c['passes']}/{c['samples']} further samples pass ({c['pass_rate']:.0%})"
            )
        if summary.get("adapter", {}).get("trained") is False:
            err.print(
                "note: solved before any update: the saved adapter is untrained (the base model)"
            )
        print_out(summary["solution"])
    else:
        err.print(
            Text.assemble(
                ("unsolved", "red"),
                f" {summary.get('problem')} after {summary.get('attempts')} attempts; "
                f"run: {summary.get('run_dir')}",
            )
        )
    raise typer.Exit(EXIT_OK if summary.get("solved") else EXIT_UNSOLVED)
