"""Best-of-k baseline (METHOD.md §5): i.i.d. samples from the base model, no feedback.

In `sdpo compare`, discovery@k = pass@k is estimated without bias from ONE pool of
n >= budget samples (metrics.pass_at_k), so the pool is sampled in full. As a way to
solve (`sdpo solve --method auto` choosing it), it stops at the first pass instead.
"""

from __future__ import annotations

import time

from ..config import SolveConfig
from ..problem import Problem
from ..runlog import RunLog
from ..verifiers.base import Verifier
from .attempts import SearchResult, Tally, first_success, round_info, round_seed, sample_and_verify


class BestOfKPool:
    name = "bestofk"

    def __init__(self, problem: Problem, verifier: Verifier, policy, sampler, config: SolveConfig,
                 log: RunLog | None = None, progress=None, pool: int | None = None,
                 stop_at_first: bool = False, offset: int = 0):
        self.problem, self.verifier, self.policy, self.sampler = problem, verifier, policy, sampler
        self.config, self.log, self.progress = config, log, progress or (lambda info: None)
        self.pool = pool or config.budget
        if self.pool < config.budget:
            raise ValueError(f"the best-of-k pool ({self.pool}) must hold at least the budget ({config.budget})")
        self.tally = Tally()
        self.stop_at_first, self.offset = stop_at_first, offset

    def run(self) -> SearchResult:
        prompt_ids = self.policy.chat_ids(self.problem.messages())
        attempts, round_no, size_limit, start = [], 0, self.pool - self.offset, time.monotonic()
        while len(attempts) < size_limit and not (self.stop_at_first and first_success(attempts)):
            round_no += 1
            size = min(self.config.batch, size_limit - len(attempts))
            batch = sample_and_verify(self.sampler, self.verifier, prompt_ids, size, self.config.sampling,
                                      round_seed(self.config.seed, round_no), self.offset + len(attempts) + 1,
                                      round_no, 0, self.log, self.tally, parallel=self.problem.limits.parallel)
            attempts += batch
            self.progress(round_info(round_no, self.offset + len(attempts), self.pool, batch, self.tally, start))
        winner = first_success(attempts)
        return SearchResult(winner is not None, winner.index if winner else None, self.offset + len(attempts),
                            round_no, winner.completion.text if winner else None, self.tally)
