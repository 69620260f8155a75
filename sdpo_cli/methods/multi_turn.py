"""Multi-turn baseline (paper §5.1): no training; the model is re-prompted with the
verifier feedback of its earlier attempts.

Rounds have the same batch size as SDPO's, so both spend attempts at the same pace: a
round samples `batch` attempts from one prompt, then the round's distinct feedback
strings join the history (oldest dropped past `context_tokens`).
- variant "feedback" (default, the paper's): one user message with the question, ALL
  past feedback strings and the closing instruction.
- variant "chat": real (attempt, feedback) turns; from each round the best-scoring
  attempt (first on ties) and its feedback form one turn.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Sequence

from ..reprompt import multiturn_chat_messages, multiturn_messages
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

VARIANTS = ("feedback", "chat")


class MultiTurn:
    """The method (registry names "multiturn" and "multiturn-chat")."""

    def __init__(self, variant: str = "feedback", context_tokens: int = 2048):
        if variant not in VARIANTS:
            raise ValueError(variant)
        self.variant, self.context_tokens = variant, context_tokens
        self.name = "multiturn" if variant == "feedback" else "multiturn-chat"

    def run(self, context: MethodContext, logged: Sequence[Attempt] = ()) -> SearchResult:
        if logged:  # the feedback history is not restored: continue after the logged attempts
            context = replace(context, offset=len(logged))
        return MultiTurnSearch(context, self.variant, self.context_tokens).run()


class MultiTurnSearch:
    def __init__(self, context: MethodContext, variant: str, context_tokens: int):
        self.problem, self.verifier = context.problem, context.verifier
        self.policy, self.sampler, self.config = context.policy, context.sampler, context.config
        self.log, self.progress = context.log, context.progress
        self.variant, self.context_tokens = variant, context_tokens
        self.context, self.tally = context, context.tally
        self.offset = context.offset

    def messages(self, history: list) -> list[dict[str, str]]:
        count = self.policy.count_tokens
        if self.variant == "chat":
            return multiturn_chat_messages(self.problem, history, self.context_tokens, count)
        return multiturn_messages(self.problem, history, self.context_tokens, count)

    def run(self) -> SearchResult:
        history: list = []
        used, round_no, start = self.offset, 0, time.monotonic()
        while used < self.config.budget:
            round_no += 1
            size = min(self.config.batch, self.config.budget - used)
            prompt_ids = self.policy.chat_ids(self.messages(history))
            seed = round_seed(self.config.seed, round_no, stream=self.context.stream)
            spec = BatchSpec(seed, used + 1, round_no)
            attempts = sample_and_verify(self.context, prompt_ids, size, spec)
            used += size
            winner = first_success(attempts)
            self.progress(
                round_info(round_no, used, self.config.budget, attempts, self.tally, start)
            )
            if winner is not None:
                return SearchResult(
                    True, winner.index, used, round_no, winner.completion.text, self.tally
                )
            if self.variant == "chat":
                best = max(attempts, key=lambda a: a.verdict.score)
                history.append((best.completion.text, best.verdict.feedback))
            else:
                for feedback in dict.fromkeys(a.verdict.feedback for a in attempts):
                    history.append(feedback)
        return SearchResult(False, None, used, round_no, None, self.tally)
