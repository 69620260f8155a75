"""Best-of-k baseline (METHOD.md §5): i.i.d. samples from the base model, no feedback.

discovery@k = pass@k, estimated without bias from ONE pool of n >= budget samples
(metrics.pass_at_k), so the pool is always sampled in full: it does not stop at the
first pass.
"""

from __future__ import annotations

from ..config import SolveConfig
from ..problem import Problem
from ..runlog import RunLog
from ..verifiers.base import Verifier
from .attempts import SearchResult, Tally, first_success, round_seed, sample_and_verify


class BestOfKPool:
    name = "bestofk"

    def __init__(self, problem: Problem, verifier: Verifier, policy, sampler, config: SolveConfig,
                 log: RunLog | None = None, progress=None, pool: int | None = None):
        self.problem, self.verifier, self.policy, self.sampler = problem, verifier, policy, sampler
        self.config, self.log, self.progress = config, log, progress or (lambda info: None)
        self.pool = pool or config.budget
        if self.pool < config.budget:
            raise ValueError(f"the best-of-k pool ({self.pool}) must hold at least the budget ({config.budget})")
        self.tally = Tally()

    def run(self) -> SearchResult:
        prompt_ids = self.policy.chat_ids(self.problem.messages())
        attempts, round_no = [], 0
        while len(attempts) < self.pool:
            round_no += 1
            size = min(self.config.batch, self.pool - len(attempts))
            attempts += sample_and_verify(self.sampler, self.verifier, prompt_ids, size, self.config.sampling,
                                          round_seed(self.config.seed, round_no), len(attempts) + 1, round_no,
                                          0, self.log, self.tally, parallel=self.problem.limits.parallel)
            self.progress({"round": round_no, "used": len(attempts), "budget": self.pool,
                           "passes": sum(a.passed for a in attempts)})
        winner = first_success(attempts)
        return SearchResult(winner is not None, winner.index if winner else None, len(attempts), round_no,
                            winner.completion.text if winner else None, self.tally)
