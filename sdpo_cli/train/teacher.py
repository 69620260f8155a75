"""The self-teacher: which weights its logits come from, its EMA step, and its forward
passes over a round.

The teacher is the same network as the student, on the teacher prompt (reprompt.py),
regularised as in the paper (§2, Table 4; docs/method.md):
  ema           a second adapter holding the EMA of the student adapter's weights,
                theta' <- (1-r) theta' + r theta once per update (paper: r = 0.01).
                Departure: the EMA is of the LoRA factors A and B separately, which is
                not exactly the EMA of their product B A (a second adapter is what fits
                LoRA).
  trust-region  logits = lerp(initial-model logits, current student logits, r).
  frozen        the initial model (adapters off).
  live          the current student, unregularised (it diverged in the paper).
"""

from __future__ import annotations

import torch

from ..config import TrainConfig
from .policy import INITIAL, STUDENT, TEACHER
from .shared_prompt import SharedPrompt, common_prefix_length

VIEWS = {
    "ema": (TEACHER,),
    "live": (STUDENT,),
    "frozen": (INITIAL,),
    "trust-region": (INITIAL, STUDENT),
}


def teacher_views(train: TrainConfig) -> tuple[str, ...]:
    """The weights (adapter names) the teacher's logits come from, in the order
    `combine_teacher` takes them."""
    return VIEWS[train.teacher]


def combine_teacher(logits: list[torch.Tensor], train: TrainConfig) -> torch.Tensor:
    """The teacher's logits from those of its views (trust-region: lerp from the initial
    model's towards the current student's by the teacher rate)."""
    if train.teacher == "trust-region":
        return torch.lerp(logits[0].float(), logits[1].float(), train.teacher_rate)
    return logits[0]


@torch.no_grad()
def ema_step(policy, train: TrainConfig) -> None:
    """theta' <- (1-r) theta' + r theta for the ema teacher; nothing for the others."""
    if train.teacher != "ema":
        return
    students = policy.adapter_params(STUDENT)
    for name, teacher in policy.adapter_params(TEACHER).items():
        teacher.lerp_(students[name].to(teacher.dtype), train.teacher_rate)


class SharedTeacher:
    """The teacher's forward passes over a round (no gradient): the common prefix of the
    round's teacher prompts (the question and the feedback header) runs once under each
    set of weights the teacher needs, each attempt's rest and response on top of it."""

    def __init__(self, policy, prompts: list[list[int]], train: TrainConfig):
        self.policy, self.train = policy, train
        prefix = prompts[0][: common_prefix_length(prompts)]
        with torch.no_grad():
            self.shared = {}
            for view in teacher_views(train):
                with policy.adapter(view):
                    self.shared[view] = SharedPrompt(policy, prefix)

    @torch.no_grad()
    def response_logits(self, responses: list[list[int]], prompts: list[list[int]]) -> torch.Tensor:
        logits = []
        for view, shared in self.shared.items():
            with self.policy.adapter(view):
                logits.append(shared.response_logits(responses, prompts))
        return combine_teacher(logits, self.train)
