"""Run jobs on one loaded model: the engine is built once per worker and reset between
jobs (fresh adapters, base weights served again)."""

from __future__ import annotations

import time
from typing import Any

from ..methods.attempts import Attempt, SearchResult
from ..methods.base import MethodContext, build_method
from ..methods.engine import Engine, load_engine
from ..runlog import RunLog
from ..verifiers.registry import load_checked
from .jobs import Job, job_dir


def engine_key(config) -> tuple:
    """What a loaded engine is built from: jobs that differ here need another engine
    (the model and how it is loaded, its weights' dtype, the adapter's shape); everything
    else a job sets (learning rate, loss, teacher, sampling) applies to the engine it is
    given."""
    train = config.train
    return (
        config.model,
        config.backend,
        config.model_args.key(),
        train.dtype,
        train.lora_rank,
        train.lora_alpha,
        tuple(train.lora_targets),
    )


class Worker:
    def __init__(self, first: Job, sampler=None):
        self.sampler = sampler
        self.key = engine_key(first.solve_config())
        self.engine: Engine = load_engine(first.solve_config(), sampler=sampler)

    def engine_for(self, job: Job) -> Engine:
        """The loaded engine, rebuilt when the job needs another one (an arm with another
        LoRA shape or dtype)."""
        key = engine_key(job.solve_config())
        if key != self.key:
            self.engine.close()
            self.engine, self.key = load_engine(job.solve_config(), sampler=self.sampler), key
        return self.engine

    def run(self, job: Job, out) -> dict[str, Any]:
        problem, verifier = load_checked(job.problem_path)
        config = job.solve_config()
        engine = self.engine_for(job)
        policy, sampler = engine.policy, engine.sampler
        policy.reset(config.train.seed)
        sampler.sync(policy)
        log = RunLog.create(
            job_dir(out, job),
            {
                "problem_id": job.problem_id,
                "method": job.method,
                "arm": job.arm,
                "seed": job.seed,
                "job": job.to_json(),
                "backend": self.engine.backend,
                "dtype": self.engine.dtype,  # and the CPU flags it was chosen from
            },
        )
        start = time.monotonic()
        try:
            context = MethodContext(problem, verifier, policy, sampler, config, log, stream=job.arm)
            result: SearchResult = build_method(job.method, **job.options).run(context)
            summary = job_summary(job, result, log, time.monotonic() - start)
            log.update(status="solved" if result.solved else "unsolved", result=summary)
            return summary
        except BaseException as exc:
            log.update_if_possible(
                status="cancelled" if isinstance(exc, KeyboardInterrupt) else "error",
                error=f"{type(exc).__name__}: {exc}",
            )
            raise
        finally:
            log.release()

    def close(self) -> None:
        self.engine.close()


def job_summary(job: Job, result: SearchResult, log: RunLog, seconds: float) -> dict[str, Any]:
    attempts = [Attempt.from_json(a) for a in log.attempts()]
    return {
        "problem": job.problem_id,
        "method": job.method,
        "arm": job.arm,
        "seed": job.seed,
        "budget": job.solve_config().budget,
        "solved": result.solved,
        "attempts_to_solve": result.attempts_to_solve,
        "attempts": result.attempts_used,
        "passes": sum(a.passed for a in attempts),
        "seconds": round(seconds, 2),
        **result.tally.to_json(),
    }
