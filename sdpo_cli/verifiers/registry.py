"""Verifier kinds by name, found through the entry-point group `sdpo.verifiers`.

Built-in kinds register through the same group (pyproject.toml) as third-party ones.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path

from ..errors import ProblemError
from ..problem import Problem, load_problem
from .base import Verifier

GROUP = "sdpo.verifiers"


@lru_cache(maxsize=1)
def verifier_kinds() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def build_verifier(problem: Problem) -> Verifier:
    kinds = verifier_kinds()
    entry = kinds.get(problem.verifier_kind)
    if entry is None:
        raise ProblemError(
            f"field 'verifier.kind' = {problem.verifier_kind!r} is not a known verifier",
            str(problem.path or "<inline problem>"),
            f"known kinds: {', '.join(sorted(kinds)) or 'none (is sdpo installed?)'}",
        )
    return entry.load()(problem)


def load_checked(path: str | Path) -> tuple[Problem, Verifier]:
    """Load a problem file and build its verifier: every option validated, nothing run."""
    problem = load_problem(path)
    return problem, build_verifier(problem)
