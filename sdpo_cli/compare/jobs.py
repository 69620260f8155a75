"""A compare is a set of independent jobs: problem x arm x seed (a best-of-k arm: one
pool per problem). A job is plain data; its results live in its own run directory under
the compare's output directory, so any runner (local processes, Ray) can execute it and
a half-finished compare resumes by skipping the jobs whose run is finished.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import SolveConfig, solve_config
from ..runlog import FINISHED
from .arms import Arm


@dataclass(frozen=True)
class Job:
    problem_path: str
    problem_id: str
    arm: str
    """The arm's label (its spec); it also names the job's sampling stream."""
    method: str
    seed: int
    config: dict[str, Any]
    """SolveConfig.to_json() with the arm's settings and this job's seed."""
    options: dict[str, Any] = field(default_factory=dict)
    """Options of the registered method (methods/base.py)."""

    @property
    def key(self) -> str:
        return f"{self.problem_id}__{arm_slug(self.arm)}__s{self.seed}"

    def solve_config(self) -> SolveConfig:
        return SolveConfig.from_json(self.config)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Job":
        return cls(**data)


def arm_slug(label: str) -> str:
    """A directory name for an arm: the label itself where it is a plain name, else its
    safe characters and a short hash of the whole label (so two labels never meet)."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", label):
        return label
    safe = re.sub(r"[^A-Za-z0-9_.=-]+", "-", label).strip("-")[:60]
    return f"{safe}-{hashlib.blake2b(label.encode(), digest_size=3).hexdigest()}"


def plan(
    problems: list[tuple[str, str]],
    arms: list[Arm],
    seeds: int,
    base: dict[str, Any],
    pool: int,
    pool_batch: int,
    context_tokens: int,
) -> list[Job]:
    """Jobs for (path, id) problems; `base`: the solve_config options every arm starts
    from. A best-of-k arm gets one job (seed 0, one pool) per problem; compare jobs keep
    no checkpoints (they restart whole)."""
    defaults = {
        "sdpo": {"checkpoint": False},
        "bestofk": {"pool": pool, "pool_batch": pool_batch},
        "multiturn": {"context_tokens": context_tokens},
        "multiturn-chat": {"context_tokens": context_tokens},
    }
    jobs = []
    for path, pid in problems:
        for arm in arms:
            options = {**defaults.get(arm.method, {}), **arm.options}
            for seed in [0] if arm.method == "bestofk" else range(seeds):
                config = solve_config(**{**base, **arm.settings, "seed": seed}).to_json()
                jobs.append(Job(path, pid, arm.label, arm.method, seed, config, options))
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
