"""The method protocol: what `sdpo solve` and `sdpo compare` run on a problem.

A method is an object with a `name` and `run(context, logged=()) -> SearchResult`. The
context carries everything a run needs (problem, verifier, policy, sampler, settings,
run log, progress callback, attempts already spent, the tally of its costs); `logged`
are the attempts of a resumed run. Methods are found by name in one registry, which
solve and compare share; an unknown name is a usage error (exit 2) listing the known
ones. Entries name their class as "module:attribute" and are imported on use, so this
module imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from ..config import SolveConfig
from ..errors import UsageError
from ..problem import Problem
from ..runlog import RunLog
from ..verifiers.base import Verifier
from .attempts import Tally

if TYPE_CHECKING:
    from ..backends.base import Sampler
    from .attempts import Attempt, SearchResult

ProgressFn = Callable[[dict[str, Any]], None]


def no_progress(info: dict[str, Any]) -> None:
    """The progress callback of a run that shows none."""


@dataclass
class MethodContext:
    """What a method needs to run on one problem."""

    problem: Problem
    verifier: Verifier
    policy: Any
    """The trainable policy (train.policy.Policy): chat template, token counts, adapters."""
    sampler: "Sampler"
    config: SolveConfig
    log: RunLog | None = None
    progress: ProgressFn = field(default=no_progress)
    offset: int = 0
    """Attempts already spent on this problem (a probe's): counted in the budget and
    in the attempt indices."""
    tally: Tally = field(default_factory=Tally)
    """Time and tokens this run spends, by phase."""
    stream: str = ""
    """Name of the sampling stream (the method, or a compare's arm): runs of different
    streams under one seed sample independently (seeds.py)."""


class Method(Protocol):
    name: str

    def run(self, context: MethodContext, logged: Sequence["Attempt"] = ()) -> "SearchResult":
        """Search until the first verified attempt or the budget; `logged` are the
        attempts a resumed run has already spent."""


# name -> ("module:Class", options the class is built with)
REGISTRY: dict[str, tuple[str, dict[str, Any]]] = {
    "sdpo": ("sdpo_cli.methods.sdpo:Sdpo", {}),
    "bestofk": ("sdpo_cli.methods.best_of_k:BestOfK", {}),
    "multiturn": ("sdpo_cli.methods.multi_turn:MultiTurn", {"variant": "feedback"}),
    "multiturn-chat": ("sdpo_cli.methods.multi_turn:MultiTurn", {"variant": "chat"}),
}


def method_names() -> list[str]:
    return list(REGISTRY)


def check_method_name(name: str) -> str:
    if name not in REGISTRY:
        raise UsageError(f"unknown method {name!r}", hint=f"known methods: {', '.join(REGISTRY)}")
    return name


def build_method(name: str, **options: Any) -> Method:
    """The method registered as `name`, built with its registered options and `options`
    (e.g. a compare's best-of-k pool size)."""
    target, registered = REGISTRY[check_method_name(name)]
    module, attribute = target.split(":")
    return getattr(import_module(module), attribute)(**{**registered, **options})
