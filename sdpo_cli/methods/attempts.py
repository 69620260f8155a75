"""Sample a batch, verify it in parallel, and record every attempt at once.

Shared by every method. Attempt indices are 1-based and count every generated attempt
(paper §5), so the discovery time of a run is the smallest passing index.
Departure (named): a truncated attempt (length limit hit) is still verified, since a
complete program may precede the cut; if it fails, its feedback starts with the
paper's "Truncated Attempt" line.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import activity
from ..backends.base import Completion
from ..cpu_sharing import fair_threads
from ..seeds import stream_seed
from ..verifiers.base import Verdict, Verifier

if TYPE_CHECKING:
    from .base import MethodContext

TRUNCATED = "Truncated Attempt\nThe response was cut off at the length limit before it finished."


@dataclass
class Attempt:
    index: int
    round: int
    completion: Completion
    verdict: Verdict
    policy_version: int
    seconds: float
    phase: str = "search"

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "round": self.round,
            "phase": self.phase,
            "policy_version": self.policy_version,
            "seconds": round(self.seconds, 3),
            **self.completion.to_json(),
            "verdict": self.verdict.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Attempt":
        completion = Completion(
            data["text"],
            data["token_ids"],
            data.get("logprobs"),
            data["finish_reason"],
            data["prompt_tokens"],
        )
        return cls(
            data["index"],
            data["round"],
            completion,
            Verdict.from_json(data["verdict"]),
            data["policy_version"],
            data["seconds"],
            data.get("phase", "search"),
        )


def judge(verifier: Verifier, completion: Completion) -> Verdict:
    verdict = verifier.verify(completion.text)
    if completion.truncated and not verdict.passed:
        verdict.feedback = f"{TRUNCATED}\n{verdict.feedback}"
        verdict.details["truncated"] = True
    return verdict


@dataclass
class Tally:
    """Running totals for reports: time by phase and tokens."""

    generate_s: float = 0.0
    verify_s: float = 0.0
    train_s: float = 0.0
    sync_s: float = 0.0
    tokens_generated: int = 0
    tokens_processed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "generate_s": round(self.generate_s, 3),
            "verify_s": round(self.verify_s, 3),
            "train_s": round(self.train_s, 3),
            "sync_s": round(self.sync_s, 3),
            "tokens_generated": self.tokens_generated,
            "tokens_processed": self.tokens_processed,
        }


@dataclass(frozen=True)
class BatchSpec:
    """Where a batch of attempts belongs: the seed it is sampled with, the index of its
    first attempt, its round, the policy version that samples it, and its phase."""

    seed: int
    first_index: int
    round: int
    policy_version: int = 0
    phase: str = "search"


def sample_and_verify(
    context: "MethodContext", prompt_ids: list[int], n: int, spec: BatchSpec
) -> list[Attempt]:
    """Generate n attempts from one prompt with the context's sampler, verify them
    (bounded parallelism), log each as soon as it is judged, and count their cost in the
    context's tally; returns them in index order."""
    start = time.monotonic()
    params = context.config.sampling
    begin_batch(context, spec, n)
    completions = context.sampler.sample(prompt_ids, n, params, spec.seed) if n else []
    return _verify_and_log(context, completions, time.monotonic() - start, spec)


def sample_each_and_verify(
    context: "MethodContext", prompts: list[list[int]], spec: BatchSpec
) -> list[Attempt]:
    """One attempt per prompt, otherwise as sample_and_verify."""
    start = time.monotonic()
    params = context.config.sampling
    begin_batch(context, spec, len(prompts))
    completions = context.sampler.sample_each(prompts, params, spec.seed) if prompts else []
    return _verify_and_log(context, completions, time.monotonic() - start, spec)


def begin_batch(context: "MethodContext", spec: BatchSpec, n: int) -> None:
    """Before a batch: say so, and on a CPU take this process's fair share of threads
    (cpu_sharing.py: fewer while other model processes run)."""
    activity.phase("sampling", round=spec.round, attempts=n)
    if getattr(context.policy, "device", "cpu") == "cpu":
        fair_threads()


def _verify_and_log(
    context: "MethodContext", completions: list[Completion], generated: float, spec: BatchSpec
) -> list[Attempt]:
    tally, log = context.tally, context.log
    tally.generate_s += generated
    share = generated / max(1, len(completions))
    attempts: list[Attempt] = []
    verify_start = time.monotonic()
    activity.phase("verifying", round=spec.round, attempts=len(completions))

    def one(offset: int) -> Attempt:
        completion = completions[offset]
        verdict = judge(context.verifier, completion)
        activity.verified()
        return Attempt(
            spec.first_index + offset,
            spec.round,
            completion,
            verdict,
            spec.policy_version,
            share + verdict.seconds,
            spec.phase,
        )

    with ThreadPoolExecutor(max_workers=max(1, context.problem.limits.parallel)) as pool:
        for attempt in pool.map(one, range(len(completions))):
            if log is not None:
                log.append_attempt(attempt.to_json())
            attempts.append(attempt)
    tally.verify_s += time.monotonic() - verify_start
    for c in completions:
        tally.tokens_generated += len(c.token_ids)
        tally.tokens_processed += c.prompt_tokens + len(c.token_ids)
    return attempts


def round_seed(seed: int, round_no: int, part: int = 0, stream: str = "") -> int:
    """Sampling seed of a round (and of a refill after resume), stable across runs; each
    method samples from its own `stream` (its name), so runs of different methods under
    the same seed are independent (seeds.py)."""
    return stream_seed(stream, seed, round_no, part)


@dataclass
class SearchResult:
    solved: bool
    attempts_to_solve: int | None
    attempts_used: int
    rounds: int
    solution: str | None
    tally: Tally
    round_metrics: list[dict[str, Any]] = field(default_factory=list)
    passes: int | None = None
    """Passing attempts among those sampled (best-of-k, which may sample past the first)."""


def round_info(
    round_no: int, used: int, budget: int, attempts: list[Attempt], tally: Tally, start: float
) -> dict[str, Any]:
    """What a progress display shows after a round."""
    failures: dict[str, int] = {}
    for a in attempts:
        if not a.passed:
            key = a.verdict.failure_type or "failed"
            failures[key] = failures.get(key, 0) + 1
    return {
        "round": round_no,
        "used": used,
        "budget": budget,
        "passes": sum(a.passed for a in attempts),
        "best_score": max((a.verdict.score for a in attempts), default=0.0),
        "failures": failures,
        "elapsed_s": time.monotonic() - start,
        "tokens_per_s": tally.tokens_generated / max(1e-9, tally.generate_s),
    }


def first_success(attempts: list[Attempt]) -> Attempt | None:
    passing = [a for a in attempts if a.passed]
    return min(passing, key=lambda a: a.index) if passing else None
