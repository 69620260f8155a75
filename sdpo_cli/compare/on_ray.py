"""Run a compare's jobs on Ray (`sdpo compare --ray [ADDRESS]`).

Each Ray actor is one worker: it loads the model once and runs jobs one after another
(compare/worker.py), exactly as a local worker does. Its resource needs (CPUs, GPUs,
memory) are declared from the model and backend. An actor runs a job in a private
directory and returns the job's log files; the driver writes them into the compare's
own output directory, so reports, resume and the schema are the local mode's and no
shared file system is needed. A job whose actor dies, or which raises, is retried on a
fresh actor up to `max_retries` times and reported as failed after that.

What scales: jobs (problems x methods x seeds) spread over the cluster. What does not:
one job is one machine's sequential work (sample, verify, update, repeat).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from pathlib import Path
from typing import Any, Callable

from ..errors import EnvironmentProblem
from ..models import resolve_model
from .jobs import Job, job_dir, pending
from .worker import Worker

LOG_FILES = ("run.json", "attempts.jsonl", "rounds.jsonl", "problem.json")


def job_resources(job: Job, gpus: float) -> dict[str, Any]:
    """Per-worker needs: 2 CPUs (sampling and verification threads), `gpus` GPUs, and
    memory for the trainer's weights, gradients and optimizer, the sampler's copy and
    its KV cache (2 GiB on CPU), estimated from the model's weight files."""
    source = resolve_model(job.solve_config().model)
    weights = sum(f.stat().st_size for f in Path(source.path).glob("*.safetensors"))
    memory = 6 * weights + (2 << 30) + (1 << 30)
    return {"num_cpus": 2, "num_gpus": gpus, "memory": memory}


class RayJobRunner:
    """The body of a Ray actor: one loaded model, many jobs."""

    def __init__(self, first: dict[str, Any], sampler_factory: Callable | None = None):
        sampler = sampler_factory() if sampler_factory else None
        self.worker = Worker(Job.from_json(first), sampler=sampler)

    def run(self, job_data: dict[str, Any], problem_text: str) -> dict[str, str]:
        scratch = Path(tempfile.mkdtemp(prefix="sdpo-ray-job-"))
        try:
            problem_path = scratch / "problem-source.json"
            problem_path.write_text(problem_text)
            job = Job.from_json({**job_data, "problem_path": str(problem_path)})
            self.worker.run(job, scratch)
            directory = job_dir(scratch, job)
            return {
                name: (directory / name).read_text()
                for name in LOG_FILES
                if (directory / name).exists()
            }
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def run_on_ray(
    jobs: list[Job],
    out: Path,
    address: str,
    progress: Callable[[dict], None] | None = None,
    workers: int = 0,
    gpus: float = 0.0,
    max_retries: int = 2,
    sampler_factory: Callable | None = None,
) -> list[str]:
    """Run the unfinished jobs on Ray; returns the keys of jobs that failed for good."""
    try:
        import ray
    except ImportError:
        raise EnvironmentProblem(
            "Ray is not installed", hint="pip install 'sdpo-cli[ray]'"
        ) from None
    progress = progress or (lambda info: None)
    todo = pending(out, jobs)
    total, done = len(jobs), len(jobs) - len(todo)
    progress({"queued": len(todo), "running": 0, "done": done, "failed": 0, "total": total})
    if not todo:
        return []
    local = address in ("", "local")
    ray.init(
        address=None if local else address,
        ignore_reinit_error=True,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    resources = job_resources(todo[0], gpus)
    if local:  # a laptop-sized local runtime may report less memory than the estimate
        resources.pop("memory")
    actor_class = ray.remote(max_restarts=0, **resources)(RayJobRunner)
    capacity = int(ray.cluster_resources().get("CPU", 1) // resources["num_cpus"]) or 1
    count = min(workers or capacity, len(todo))
    first = todo[0].to_json()
    problems = {job.problem_path: Path(job.problem_path).read_text() for job in todo}
    queue, tries, failed, running = deque(todo), {}, [], {}

    def start(actor) -> None:
        job = queue.popleft()
        running[actor.run.remote(job.to_json(), problems[job.problem_path])] = (actor, job)

    for actor in [actor_class.remote(first, sampler_factory) for _ in range(count)]:
        if queue:
            start(actor)
    try:
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            actor, job = running.pop(ready[0])
            try:
                files = ray.get(ready[0])
            except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError):
                ray.kill(actor, no_restart=True)
                actor = actor_class.remote(first, sampler_factory)
                tries[job.key] = tries.get(job.key, 0) + 1
                if tries[job.key] <= max_retries:
                    queue.appendleft(job)
                else:
                    failed.append(job.key)
            else:
                target = job_dir(out, job)
                target.mkdir(parents=True, exist_ok=True)
                for name, text in files.items():
                    (target / name).write_text(text)
                done += 1
            if queue:
                start(actor)
            else:
                ray.kill(actor, no_restart=True)
            progress(
                {
                    "queued": len(queue),
                    "running": len(running),
                    "done": done,
                    "failed": len(failed),
                    "total": total,
                    "job": job.key,
                }
            )
    except BaseException:  # a signal or a failure of the driver: end every actor now
        for actor, _ in running.values():
            ray.kill(actor, no_restart=True)
        if local:
            ray.shutdown()
        raise
    return failed
