"""Best-of-k baseline (paper §5.1): i.i.d. samples from the base model, no feedback.

In `sdpo compare`, discovery@k = pass@k is estimated without bias from ONE pool of
n >= budget samples (metrics.pass_at_k), so the pool is sampled in full. As a way to
solve (`sdpo solve --method auto` choosing it), it stops at the first pass instead.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Sequence

from .attempts import (
    Attempt,
    BatchSpec,
    SearchResult,
    first_success,
    round_info,
    round_seed,
    sample_and_verify,
)
from .base import MethodContext


class BestOfK:
    """The method (registry name "bestofk"). `pool`: how many samples to draw in full
    (compare); None means the budget, stopping at the first pass (solve). `pool_batch`:
    attempts per sampler call while drawing a pool; i.i.d. samples need no rounds, so a
    pool is drawn at the sampler's most efficient batch instead of the method's."""

    name = "bestofk"

    def __init__(self, pool: int | None = None, pool_batch: int | None = None):
        self.pool, self.pool_batch = pool, pool_batch

    def run(self, context: MethodContext, logged: Sequence[Attempt] = ()) -> SearchResult:
        if logged:  # no state to restore: continue after every attempt already logged
            context = replace(context, offset=len(logged))
        batch = self.pool_batch if self.pool else None
        return BestOfKPool(context, self.pool, stop_at_first=self.pool is None, batch=batch).run()


class BestOfKPool:
    def __init__(
        self,
        context: MethodContext,
        pool: int | None = None,
        stop_at_first: bool = False,
        batch: int | None = None,
    ):
        self.problem, self.verifier = context.problem, context.verifier
        self.policy, self.sampler, self.config = context.policy, context.sampler, context.config
        self.log, self.progress = context.log, context.progress
        self.pool = pool or self.config.budget
        if self.pool < self.config.budget:
            raise ValueError(
                f"the best-of-k pool ({self.pool}) must hold at least the budget "
                f"({self.config.budget})"
            )
        self.context, self.tally = context, context.tally
        self.stop_at_first, self.offset = stop_at_first, context.offset
        self.batch = batch or self.config.batch

    def run(self) -> SearchResult:
        prompt_ids = self.policy.chat_ids(self.problem.messages())
        attempts, round_no, size_limit, start = [], 0, self.pool - self.offset, time.monotonic()
        while len(attempts) < size_limit and not (self.stop_at_first and first_success(attempts)):
            round_no += 1
            size = min(self.batch, size_limit - len(attempts))
            seed = round_seed(self.config.seed, round_no, stream=self.context.stream)
            spec = BatchSpec(seed, self.offset + len(attempts) + 1, round_no)
            batch = sample_and_verify(self.context, prompt_ids, size, spec)
            attempts += batch
            self.progress(
                round_info(
                    round_no, self.offset + len(attempts), self.pool, batch, self.tally, start
                )
            )
        winner = first_success(attempts)
        return SearchResult(
            winner is not None,
            winner.index if winner else None,
            self.offset + len(attempts),
            round_no,
            winner.completion.text if winner else None,
            self.tally,
            passes=sum(a.passed for a in attempts),
        )
