"""Load and validate problem files (JSON); documented field by field in problems/README.md.

This module checks the schema shared by every problem. The verifier's own options are
checked by the verifier kind itself (verifiers/registry.py), so that third-party kinds
validate their options the same way as built-in ones. It never runs anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ProblemError

MAX_PROBLEM_BYTES = 64 << 20
"""Largest problem file read: far beyond any test suite, and a device or a runaway file
is refused instead of read without bound."""
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DIFFICULTIES = ("easy", "medium", "hard", "unsolved", "unknown")


@dataclass(frozen=True)
class Limits:
    """Resources granted to one verification; every field may be set in the problem file."""

    timeout_s: float = field(default=3.0, metadata={"range": (0.1, 3600)})
    """CPU seconds for one program run (one test, or all function-call tests), whole
    seconds rounded up; the wall clock allows 3x this + 2 s (verifiers/sandbox.py)."""
    memory_mb: int = field(default=1024, metadata={"range": (64, 1 << 20)})
    """Address-space limit of the sandboxed process (the interpreter needs about 64)."""
    max_processes: int = field(default=32, metadata={"range": (1, 4096)})
    """Process/thread count limit inside the sandbox (stops fork bombs)."""
    max_output_kb: int = field(default=1024, metadata={"range": (1, 1 << 20)})
    """Captured stdout/stderr beyond this is cut and the run is stopped."""
    max_file_kb: int = field(default=10240, metadata={"range": (1, 1 << 24)})
    """Largest file the sandboxed program may write."""
    parallel: int = field(default=2, metadata={"range": (1, 64)})
    """Tests of one attempt run at most this many at a time."""
    feedback_chars: int = field(default=2000, metadata={"range": (100, 100_000)})
    """Cap on the feedback text shown to the teacher (paper §4: 2,000 characters)."""


@dataclass(frozen=True)
class Problem:
    """One hard, checkable problem: a prompt and a verifier."""

    id: str
    prompt: str
    verifier: dict[str, Any]
    system: str | None = None
    reference: str | None = None
    limits: Limits = field(default_factory=Limits)
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def verifier_kind(self) -> str:
        return self.verifier["kind"]

    @property
    def directory(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def messages(self) -> list[dict[str, str]]:
        """The student's chat: optional system message, then the question."""
        chat = [{"role": "system", "content": self.system}] if self.system else []
        return chat + [{"role": "user", "content": self.prompt}]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "prompt": self.prompt, "verifier": self.verifier}
        if self.system:
            data["system"] = self.system
        if self.reference is not None:
            data["reference"] = self.reference
        data["limits"] = {f.name: getattr(self.limits, f.name) for f in fields(Limits)}
        if self.metadata:
            data["metadata"] = self.metadata
        return data


TOP_LEVEL = {"id", "prompt", "system", "verifier", "reference", "limits", "metadata", "$schema"}


def load_problem(path: str | Path) -> Problem:
    """Read and validate one problem file; raise ProblemError naming file, field and value."""
    path = Path(path)
    where = str(path)
    try:
        if not path.is_file():
            raise ProblemError(
                "not a regular file" if path.exists() else "problem file not found",
                where,
                "give the path of a problem's JSON file",
            )
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PROBLEM_BYTES + 1)
        if len(raw) > MAX_PROBLEM_BYTES:
            raise ProblemError(f"the file is larger than {MAX_PROBLEM_BYTES >> 20} MB", where)
        data = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemError(f"cannot read problem file: {exc}", where) from None
    except json.JSONDecodeError as exc:
        raise ProblemError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            where,
            "problem files are JSON objects; see problems/README.md",
        ) from None
    except RecursionError:
        raise ProblemError("the JSON nests too deeply to be a problem file", where) from None
    return problem_from_dict(data, path)


def problem_from_dict(data: Any, path: Path | None = None) -> Problem:
    where = str(path) if path else "<inline problem>"
    if not isinstance(data, dict):
        raise ProblemError(f"a problem must be a JSON object, got {type(data).__name__}", where)
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        raise ProblemError(
            f"unknown field {unknown[0]!r}",
            where,
            f"known fields: {', '.join(sorted(TOP_LEVEL - {'$schema'}))}",
        )
    pid = _require(data, "id", str, where)
    if not ID_PATTERN.match(pid):
        raise ProblemError(f"field 'id' = {pid!r} must be letters, digits, '.', '_' or '-'", where)
    prompt = _require(data, "prompt", str, where)
    if not prompt.strip():
        raise ProblemError("field 'prompt' is empty", where)
    system = _optional(data, "system", str, where)
    reference = _optional(data, "reference", str, where)
    verifier = _require(data, "verifier", dict, where)
    kind = verifier.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ProblemError(
            f"field 'verifier.kind' = {kind!r} must be a verifier name",
            where,
            "built-in kinds: python, answer, arithmetic, command",
        )
    metadata = _optional(data, "metadata", dict, where) or {}
    difficulty = metadata.get("difficulty")
    if difficulty is not None and difficulty not in DIFFICULTIES:
        raise ProblemError(
            f"field 'metadata.difficulty' = {difficulty!r} must be one of "
            f"{', '.join(DIFFICULTIES)}",
            where,
        )
    limits = _limits(_optional(data, "limits", dict, where) or {}, where)
    return Problem(
        id=pid,
        prompt=prompt,
        verifier=verifier,
        system=system,
        reference=reference,
        limits=limits,
        metadata=metadata,
        path=path,
    )


def _require(data: dict, name: str, kind: type, where: str) -> Any:
    if name not in data:
        raise ProblemError(f"missing field {name!r}", where, "see problems/README.md")
    return _optional(data, name, kind, where)


def _optional(data: dict, name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    if value is not None and not isinstance(value, kind):
        raise ProblemError(f"field {name!r} = {_short(value)} must be a {_json_type(kind)}", where)
    return value


def _limits(raw: dict, where: str) -> Limits:
    known = {f.name: f for f in fields(Limits)}
    values = {}
    for name, value in raw.items():
        if name not in known:
            raise ProblemError(
                f"unknown field 'limits.{name}'", where, f"known: {', '.join(known)}"
            )
        default = known[name].default
        low, high = known[name].metadata["range"]
        number_ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        whole = isinstance(default, int)
        if not number_ok or not low <= value <= high or (whole and not float(value).is_integer()):
            raise ProblemError(
                f"field 'limits.{name}' = {_short(value)} must be "
                f"{'a whole number' if whole else 'a number'} from {low:,} to {high:,}",
                where,
            )
        values[name] = type(default)(value)
    return Limits(**values)


def _json_type(kind: type) -> str:
    return {str: "string", dict: "JSON object", list: "list"}.get(kind, kind.__name__)


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
