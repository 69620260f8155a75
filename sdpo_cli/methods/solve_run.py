"""One `sdpo solve` run from start (or resume) to a finished run directory.

Writes run.json first, logs every attempt, saves the adapter, the solution and the
final status, and marks the run cancelled on Ctrl-C or error before re-raising.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..config import SolveConfig
from ..problem import Problem
from ..runlog import RunLog
from ..verifiers.base import Verifier
from .attempts import Attempt
from .engine import Engine, load_engine
from .sdpo import ProgressFn, SdpoSearch

FINISHED = ("solved", "unsolved")


def start_log(directory, problem: Problem, config: SolveConfig, method: str = "sdpo") -> RunLog:
    log = RunLog.create(directory, {"problem_id": problem.id, "problem_path": str(problem.path or ""),
                                    "method": method, "seed": config.seed, "model": config.model,
                                    "config": config.to_json()})
    log.write_text("problem.json", json.dumps(problem.to_json(), indent=2))
    return log


def solve(problem: Problem, verifier: Verifier, config: SolveConfig, log: RunLog,
          progress: ProgressFn | None = None, engine: Engine | None = None,
          resume: bool = False) -> dict[str, Any]:
    """Run (or resume) the search; returns the summary that `--json` prints."""
    started = time.monotonic()
    own_engine = engine is None
    try:
        engine = engine or load_engine(config)
        log.update(backend=engine.backend, model_path=str(engine.source.path),
                   startup_s=round(time.monotonic() - started, 2))
        search = SdpoSearch(problem, verifier, engine.policy, engine.sampler, config, log, progress)
        logged = []
        if resume:
            search.restore_state()
            logged = [Attempt.from_json(a) for a in log.attempts()]
        result = search.run(logged)
        confirm = None
        if result.solved and config.confirm > 0:
            confirm = search.confirm(config.confirm, result.attempts_used + 1)
        engine.policy.save_adapter(str(log.dir / "adapter"))
        if result.solution is not None:
            log.write_text("solution.txt", result.solution)
        summary = summarize(problem, config, log, result, confirm, engine.backend,
                            time.monotonic() - started)
        log.update(status="solved" if result.solved else "unsolved", result=summary)
        return summary
    except KeyboardInterrupt:
        log.update(status="cancelled")
        raise
    except BaseException as exc:
        log.update(status="error", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if own_engine and engine is not None:
            engine.close()


def summarize(problem: Problem, config: SolveConfig, log: RunLog, result, confirm, backend: str,
              seconds: float) -> dict[str, Any]:
    return {"problem": problem.id, "method": "sdpo", "solved": result.solved,
            "attempts_to_solve": result.attempts_to_solve, "attempts": result.attempts_used,
            "rounds": result.rounds, "budget": config.budget, "solution": result.solution,
            "confirm": confirm, "run_dir": str(log.dir), "backend": backend,
            "timings": {"total_s": round(seconds, 2), **{k: v for k, v in result.tally.to_json().items()
                                                          if k.endswith("_s")}},
            "tokens": {"generated": result.tally.tokens_generated,
                       "processed": result.tally.tokens_processed},
            "rounds_metrics": result.round_metrics, "config": config.to_json()}
