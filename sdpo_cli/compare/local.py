"""Run a compare's jobs on this machine with bounded parallelism: each worker process
loads the model once and runs jobs one after another; results land in the jobs' run
directories, so an interrupted compare resumes where it stopped."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

from ..cpu_sharing import SIBLINGS, share_cpu
from .jobs import Job, pending
from .worker import Worker

ProgressFn = Callable[[dict[str, Any]], None]
_WORKER: dict[str, Worker] = {}  # one per worker process


def run_local(
    jobs: list[Job], out: Path, workers: int = 1, progress: ProgressFn | None = None, sampler=None
) -> int:
    """Run the jobs not finished yet; returns how many ran. `sampler` (tests) forces one
    in-process worker with that sampler."""
    progress = progress or (lambda info: None)
    todo = pending(out, jobs)
    total, done = len(jobs), len(jobs) - len(todo)
    progress({"queued": len(todo), "running": 0, "done": done, "failed": 0, "total": total})
    if not todo:
        return 0
    if workers <= 1 or sampler is not None or len(todo) == 1:
        worker = Worker(todo[0], sampler=sampler)
        try:
            for i, job in enumerate(todo):
                progress(
                    {
                        "queued": len(todo) - i - 1,
                        "running": 1,
                        "done": done,
                        "failed": 0,
                        "total": total,
                        "job": job.key,
                    }
                )
                worker.run(job, out)
                done += 1
        finally:
            worker.close()
        progress({"queued": 0, "running": 0, "done": done, "failed": 0, "total": total})
        return len(todo)
    share_cpu(side_by_side=True)  # the workers inherit it: they run side by side
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(todo[0], min(workers, len(todo))),
    ) as pool:
        futures = {pool.submit(_run_job, job, str(out)): job for job in todo}
        for future in as_completed(futures):
            future.result()
            done += 1
            progress(
                {
                    "queued": max(0, len(todo) - done - workers),
                    "running": min(workers, total - done),
                    "done": done,
                    "failed": 0,
                    "total": total,
                    "job": futures[future].key,
                }
            )
    return len(todo)


def _start_worker(first: Job, workers: int) -> None:
    SIBLINGS["count"] = workers - 1
    _WORKER["worker"] = Worker(first)


def _run_job(job: Job, out: str) -> dict[str, Any]:
    return _WORKER["worker"].run(job, Path(out))
