"""A compare is a set of independent jobs: problem x method x seed (best-of-k: one pool
per problem). A job is plain data; its results live in its own run directory under the
compare's output directory, so any runner (local processes, Ray) can execute it and a
half-finished compare resumes by skipping the jobs whose run is finished.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..config import SolveConfig
from ..runlog import FINISHED


@dataclass(frozen=True)
class Job:
    problem_path: str
    problem_id: str
    method: str
    seed: int
    config: dict[str, Any]  # SolveConfig.to_json() with this job's seed
    pool: int = 0  # best-of-k pool size
    context_tokens: int = 2048  # multi-turn context budget

    @property
    def key(self) -> str:
        return f"{self.problem_id}__{self.method}__s{self.seed}"

    def method_options(self) -> dict[str, Any]:
        """Options of the registered method for this job: compare jobs keep no
        checkpoints, best-of-k samples its whole pool, multi-turn has a context budget."""
        return {"sdpo": {"checkpoint": False}, "bestofk": {"pool": self.pool}}.get(
            self.method, {"context_tokens": self.context_tokens}
        )

    def solve_config(self) -> SolveConfig:
        return SolveConfig.from_json(self.config)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Job":
        return cls(**data)


def plan(
    problems: list[tuple[str, str]],
    methods: list[str],
    seeds: int,
    base: SolveConfig,
    pool: int,
    context_tokens: int,
) -> list[Job]:
    """Jobs for (path, id) problems; best-of-k gets one job (seed 0) per problem."""
    jobs = []
    for path, pid in problems:
        for method in methods:
            for seed in [0] if method == "bestofk" else range(seeds):
                config = {
                    **base.to_json(),
                    "seed": seed,
                    "train": {**base.to_json()["train"], "seed": seed},
                }
                jobs.append(
                    Job(
                        path,
                        pid,
                        method,
                        seed,
                        config,
                        pool if method == "bestofk" else 0,
                        context_tokens,
                    )
                )
    return jobs


def job_dir(out: Path, job: Job) -> Path:
    return Path(out) / "jobs" / job.key


def job_status(out: Path, job: Job) -> str | None:
    path = job_dir(out, job) / "run.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text()).get("status")
    except (OSError, json.JSONDecodeError):
        return None


def pending(out: Path, jobs: list[Job]) -> list[Job]:
    """Jobs not finished yet; a half-written job directory is cleared to start over."""
    todo = []
    for job in jobs:
        if job_status(out, job) in FINISHED:
            continue
        shutil.rmtree(job_dir(out, job), ignore_errors=True)
        todo.append(job)
    return todo
