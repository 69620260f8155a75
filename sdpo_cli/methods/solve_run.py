"""One `sdpo solve` run from start (or resume) to a finished run directory.

Writes run.json first, logs every attempt, saves the adapter, the solution and the
final status, and marks the run cancelled on Ctrl-C or error before re-raising.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from typing import Any

from ..adapter import finish_adapter
from ..config import SolveConfig
from ..errors import UsageError
from ..problem import Problem
from ..runlog import RunLog
from ..verifiers.base import Verifier
from .attempts import Attempt, BatchSpec, SearchResult, Tally, round_seed, sample_and_verify
from .base import MethodContext, ProgressFn, build_method, no_progress
from .engine import Engine, load_engine
from .probe import probe


def solve(
    problem: Problem,
    verifier: Verifier,
    config: SolveConfig,
    log: RunLog,
    progress: ProgressFn | None = None,
    engine: Engine | None = None,
    resume: bool = False,
    method: str = "sdpo",
    probe_samples: int = 8,
) -> dict[str, Any]:
    """Run (or resume) the search with a registered method (methods/base.py); returns
    the summary that `--json` prints. With method "auto", `sdpo probe` runs first (its
    attempts count against the budget and a probe success is a discovery), then the
    method it recommends."""
    started = time.monotonic()
    own_engine = engine is None
    try:
        engine = engine or load_engine(config)
        log.update(
            backend=engine.backend,
            model_path=str(engine.source.path),
            startup_s=round(time.monotonic() - started, 2),
            dtype=engine.dtype,
        )
        context = MethodContext(
            problem, verifier, engine.policy, engine.sampler, config, log, progress or no_progress
        )
        if method == "auto":
            report = log.info.get("probe") or _run_probe(context, probe_samples)
            method = report["recommendation"]
            if report["solved_at"] is not None:
                return _finish(context, _probe_result(log, report), None, engine, started, method)
            context = replace(context, offset=report["attempts"])
        logged = [Attempt.from_json(a) for a in log.attempts()] if resume else []
        result = build_method(method).run(replace(context, stream=method), logged)
        confirm = None
        if result.solved and config.confirm > 0:
            confirm = confirm_rate(context, result.attempts_used + 1)
        return _finish(context, result, confirm, engine, started, method)
    except KeyboardInterrupt:
        log.update_if_possible(status="cancelled")
        raise
    except BaseException as exc:
        log.update_if_possible(status="error", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if own_engine and engine is not None:
            engine.close()


def confirm_rate(context: MethodContext, first_index: int) -> dict[str, Any]:
    """Sample `confirm` more attempts from the adapted policy; their pass rate says
    whether the problem is now reliably solved or the hit was luck. Their cost is kept
    out of the search's tally."""
    config, policy = context.config, context.policy
    spec = BatchSpec(
        round_seed(config.seed, 0, stream="confirm"), first_index, 0, policy.version, "confirm"
    )
    prompt_ids = policy.chat_ids(context.problem.messages())
    attempts = sample_and_verify(replace(context, tally=Tally()), prompt_ids, config.confirm, spec)
    passes = sum(a.passed for a in attempts)
    return {"samples": config.confirm, "passes": passes, "pass_rate": passes / config.confirm}


def _run_probe(context: MethodContext, samples: int) -> dict:
    budget = context.config.budget
    if 3 * samples >= budget:
        raise UsageError(
            f"a probe of {samples} samples may use {3 * samples} attempts, the budget is {budget}",
            hint="raise --budget or lower --probe-samples",
        )
    report, _ = probe(context, samples)
    context.log.update(
        probe=report, decision={"method": report["recommendation"], "reason": report["reason"]}
    )
    return report


def _probe_result(log: RunLog, report: dict) -> SearchResult:
    winner = next(a for a in log.attempts() if a["index"] == report["solved_at"])
    return SearchResult(True, winner["index"], report["attempts"], 0, winner["text"], Tally())


def _finish(
    context: MethodContext,
    result: SearchResult,
    confirm,
    engine: Engine,
    started: float,
    method: str,
) -> dict[str, Any]:
    log, adapter = context.log, context.log.dir / "adapter"
    engine.policy.save_adapter(str(adapter))
    trained = engine.policy.version > 0
    finish_adapter(
        adapter,
        engine.source,
        {
            "problem": context.problem.id,
            "method": method,
            "attempts": result.attempts_used,
            "attempts_to_solve": result.attempts_to_solve,
            "trained": trained,
            "train": asdict(engine.policy.config),
            "revision": engine.policy.model_args.revision,
        },
    )
    if result.solution is not None:
        log.write_text("solution.txt", result.solution)
    seconds = time.monotonic() - started
    summary = summarize(
        context.problem, context.config, log, result, confirm, engine.backend, seconds, method
    )
    summary["adapter"] = {"path": str(adapter), "trained": trained}
    log.update(status="solved" if result.solved else "unsolved", result=summary)
    return summary


def summarize(
    problem: Problem,
    config: SolveConfig,
    log: RunLog,
    result,
    confirm,
    backend: str,
    seconds: float,
    method: str = "sdpo",
) -> dict[str, Any]:
    return {
        "problem": problem.id,
        "method": method,
        "probe": log.info.get("probe"),
        "solved": result.solved,
        "attempts_to_solve": result.attempts_to_solve,
        "attempts": result.attempts_used,
        "rounds": result.rounds,
        "budget": config.budget,
        "solution": result.solution,
        "confirm": confirm,
        "run_dir": str(log.dir),
        "backend": backend,
        "timings": {
            "total_s": round(seconds, 2),
            **{k: v for k, v in result.tally.to_json().items() if k.endswith("_s")},
        },
        "tokens": {
            "generated": result.tally.tokens_generated,
            "processed": result.tally.tokens_processed,
        },
        "rounds_metrics": result.round_metrics,
        "config": config.to_json(),
    }
