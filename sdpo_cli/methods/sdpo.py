"""Test-time SDPO on one problem (paper §5): rounds of `batch` attempts, verify all,
stop at the first pass, otherwise one SDPO update on the round, until the budget.

Every attempt is logged as soon as it is judged; after each update the training state
(adapters, optimizer, RNG, round) is checkpointed, so a resumed run continues from the
last finished round, keeps every attempt already logged, and only samples what its
round still lacks.
"""

from __future__ import annotations

import copy
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import torch

from .. import activity
from ..backends.base import check_parity
from ..config import SolveConfig
from ..errors import RunError
from ..problem import Problem
from ..repeats import attempt_key
from ..reprompt import control_messages, fit_teacher_messages, hint_text, pick_demonstration
from ..train.policy import Policy
from ..train.update import Example, group_advantages, make_optimizer, sdpo_update
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


def build_examples(
    policy: Policy,
    problem: Problem,
    attempts: list[Attempt],
    config: SolveConfig,
    trained: set[str] | None = None,
    earlier_feedback: Sequence[str] = (),
) -> list[Example]:
    """Student and teacher contexts for each attempt of a round (paper Table 2).
    `trained`: the keys (repeats.py) of the attempts trained on before; an attempt
    repeating one of them, or an earlier one of its round, gets the loss weight
    `repeat_weight` (masked out at 0). `earlier_feedback`: the distinct feedback of the
    last `feedback_rounds` rounds, which the teacher sees before the attempt's own."""
    seen = set(trained or ())
    student_prompt = policy.chat_ids(problem.messages())
    control = policy.chat_ids(control_messages(problem)) if config.train.contrast else None
    texts = [a.completion.text for a in attempts]
    passed = [a.passed for a in attempts]
    advantages = group_advantages([a.verdict.score for a in attempts])
    examples = []
    for i, attempt in enumerate(attempts):
        key = attempt_key(attempt.completion.text)
        weight = config.train.repeat_weight if key in seen else 1.0
        seen.add(key)
        messages = None  # a skipped repeat (weight 0) has no teacher signal
        if weight:
            messages = fit_teacher_messages(
                problem,
                teacher_feedback(earlier_feedback, attempt.verdict.feedback, config.train.hint),
                pick_demonstration(i, passed, texts),
                problem.limits.feedback_chars,
                config.train.teacher_prompt_tokens,
                policy.count_tokens,
            )
        examples.append(
            Example(
                student_prompt,
                policy.chat_ids(messages) if messages else None,
                attempt.completion.token_ids,
                attempt.completion.logprobs,
                control if messages else None,
                advantages[i],
                weight,
            )
        )
    return examples


def teacher_feedback(earlier: Sequence[str], own: str | None, hint: str) -> str | None:
    """The feedback in the teacher's context: each distinct earlier feedback, then the
    attempt's own, each in the run's hint format, separated by blank lines."""
    pieces = []
    for text in [*earlier, own]:
        if text and text.strip():
            piece = hint_text(text, hint)
            if piece not in pieces:
                pieces.append(piece)
    return "\n\n".join(pieces) or None


def distinct_feedback(rounds: Sequence[Sequence[Attempt]]) -> list[str]:
    """The distinct feedback strings of some rounds' attempts, oldest first."""
    found: list[str] = []
    for attempts in rounds:
        for attempt in attempts:
            text = attempt.verdict.feedback
            if text and text.strip() and text not in found:
                found.append(text)
    return found


class Sdpo:
    """The method (registry name "sdpo"): one SdpoSearch per run; a resumed run first
    restores its training state, then continues after its logged attempts."""

    name = "sdpo"

    def __init__(self, checkpoint: bool = True):
        self.checkpoint = checkpoint

    def run(self, context: MethodContext, logged: Sequence[Attempt] = ()) -> SearchResult:
        search = SdpoSearch(context, self.checkpoint)
        if logged:
            search.restore_state()
        return search.run(list(logged))


class SdpoSearch:
    """The state of one SDPO run: optimizer, checkpoints, rounds."""

    def __init__(self, context: MethodContext, checkpoint: bool = True):
        """`checkpoint`: keep the training state for `--resume` (compare jobs restart
        from scratch instead, and save the disk)."""
        self.problem, self.verifier = context.problem, context.verifier
        self.policy, self.sampler = context.policy, context.sampler
        self.offset, self.checkpoint = context.offset, checkpoint
        self.config, self.log, self.progress = context.config, context.log, context.progress
        self.optimizer = make_optimizer(self.policy, self.config.train)
        self.context, self.tally = context, context.tally
        self.round_metrics: list[dict[str, Any]] = []
        self.trained_round = 0
        self.trained_rounds: list[list[Attempt]] = []
        """The attempts of each round trained on so far (repeat_weight, feedback_rounds)."""
        self._writer: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    # -- checkpoints ----------------------------------------------------------------
    def save_state(self) -> None:
        """Checkpoint the training state (adapters, optimizer, RNG, round): copied now,
        written by a background thread while the next round samples (the file write took
        0.2-0.4 s of each round for the embedded model's 79 MB; bench/RESULTS.md), one
        write at a time, replaced atomically. `run` waits for the last one before it
        returns, also when it is interrupted."""
        if self.log is None or not self.checkpoint:
            return
        previous, self._pending = self._pending, None
        if previous is not None:
            previous.result()
        state = {
            "adapter": self.policy.adapter_state(),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "round": self.trained_round,
            "policy_version": self.policy.version,
            "torch_rng": torch.get_rng_state(),
            "tally": self.tally.to_json(),
        }
        self.log.state_dir.mkdir(exist_ok=True)
        self._writer = self._writer or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sdpo-checkpoint"
        )
        self._pending = self._writer.submit(
            _write_checkpoint, state, self.log.state_dir / "trainer.pt"
        )

    def finish_checkpoint(self) -> None:
        """Wait for the checkpoint being written and stop the writer thread; a failed write
        (a full disk) raises here."""
        writer, pending, self._writer, self._pending = self._writer, self._pending, None, None
        if writer is not None:
            writer.shutdown(wait=True)
        if pending is not None:
            pending.result()

    def restore_state(self) -> None:
        path = self.log.state_dir / "trainer.pt" if self.log else None
        if path is None or not path.exists():
            return
        state = torch.load(path, weights_only=False)
        self.policy.load_adapter_state(state["adapter"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        self.trained_round, self.policy.version = state["round"], state["policy_version"]
        for key, value in state["tally"].items():
            setattr(self.tally, key, value)
        if self.trained_round:
            self.sampler.sync(self.policy)

    # -- the loop -------------------------------------------------------------------
    def run(self, logged: list[Attempt] | None = None) -> SearchResult:
        """Search until the first pass or the budget; `logged` are attempts of a resumed run."""
        try:
            return self._search(logged)
        finally:
            self.finish_checkpoint()

    def _search(self, logged: list[Attempt] | None) -> SearchResult:
        config = self.config
        logged = [a for a in (logged or []) if a.phase == "search"]
        self.round_metrics = self.log.rounds() if self.log else []
        done = [a for a in logged if a.round <= self.trained_round]
        self.trained_rounds = [
            [a for a in done if a.round == number] for number in sorted({a.round for a in done})
        ]
        used = self.offset + len(done)
        prompt_ids = self.policy.chat_ids(self.problem.messages())
        round_no = self.trained_round
        start = time.monotonic()
        while used < config.budget:
            round_no += 1
            size = min(config.batch, config.budget - used)
            attempts = [a for a in logged if a.round == round_no][:size]
            spec = BatchSpec(
                round_seed(config.seed, round_no, len(attempts), self.context.stream),
                used + len(attempts) + 1,
                round_no,
                self.policy.version,
            )
            attempts += sample_and_verify(self.context, prompt_ids, size - len(attempts), spec)
            used += len(attempts)
            winner = first_success(attempts)
            info = round_info(round_no, used, config.budget, attempts, self.tally, start)
            if winner is not None:
                self.progress(info)
                return self._result(True, winner, used, round_no)
            if used < config.budget:
                info.update(self.update(round_no, attempts))
            self.progress(info)
        return self._result(False, None, used, round_no)

    def update(self, round_no: int, attempts: list[Attempt]) -> dict[str, Any]:
        """One SDPO update on a failed round, the sampler synced to it, the round's metrics
        logged and the training state checkpointed; returns the round's record."""
        start = time.monotonic()
        activity.phase("updating", round=round_no, attempts=len(attempts))
        rounds_back = self.config.train.feedback_rounds
        earlier = distinct_feedback(self.trained_rounds[-rounds_back:]) if rounds_back else []
        trained = {attempt_key(a.completion.text) for past in self.trained_rounds for a in past}
        examples = build_examples(
            self.policy, self.problem, attempts, self.config, trained, earlier
        )
        self.trained_rounds.append(attempts)
        metrics = sdpo_update(
            self.policy, self.optimizer, examples, self.config.train, self.config.sampling
        )
        self.tally.train_s += time.monotonic() - start
        if metrics.get("sampler_gap") is not None:
            check_parity(metrics["sampler_gap"], f"the tokens of round {round_no}")
        train_tokens = sum(
            len(e.student_prompt) + len(e.teacher_prompt) + 2 * len(e.response)
            for e in examples
            if e.teacher_prompt
        )
        self.tally.tokens_processed += train_tokens
        sync_start = time.monotonic()
        activity.phase("syncing", round=round_no)
        # no separate parity check here: the next update checks the next round's tokens
        sync = self.sampler.sync(self.policy, check=False) or {}
        sync_s = time.monotonic() - sync_start
        self.tally.sync_s += sync_s
        self.trained_round = round_no
        record = {
            "round": round_no,
            "policy_version": self.policy.version,
            **metrics,
            **sync,
            "sync_s": round(sync_s, 3),
            "train_s": round(time.monotonic() - start, 3),
            "tokens_processed": train_tokens,
        }
        self.round_metrics.append(record)
        if self.log:
            self.log.append_round(record)
        self.save_state()
        return record

    def _result(self, solved: bool, winner: Attempt | None, used: int, rounds: int) -> SearchResult:
        return SearchResult(
            solved,
            winner.index if winner else None,
            used,
            rounds,
            winner.completion.text if winner else None,
            self.tally,
            self.round_metrics,
        )


def _write_checkpoint(state: dict[str, Any], path: Path) -> None:
    try:
        torch.save(state, path.with_suffix(".tmp"))
        os.replace(path.with_suffix(".tmp"), path)
    except OSError as exc:
        raise RunError(
            f"cannot write the training checkpoint: {exc.strerror}",
            str(path),
            "free disk space, then resume with --resume",
        ) from None
