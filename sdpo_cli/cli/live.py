"""Progress while a command works: the phase it is in, the round's attempts generated and
verified, tokens/s and an estimate of the time left (sdpo_cli/activity.py reports them).

On a terminal a live status line sits under the round lines and is redrawn four times a
second. When stderr is not a terminal, or with --json, there is no live display: the
start-up phases (loading the model, starting the sampler) are printed once each as plain
lines, so that a slow start is never silent, and each round prints its line as before.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

from rich.live import Live
from rich.text import Text

from .. import activity
from .output import err

STARTUP = ("loading model", "starting sampler")


class Status:
    """The activity listener of one command."""

    def __init__(self, live: bool):
        self.started = time.monotonic()
        self.phase_name, self.phase_started = "starting", self.started
        self.fields: dict[str, Any] = {}
        self.done = 0
        self.last_round: dict[str, Any] | None = None
        self.display = (
            Live(get_renderable=self.render, console=err, refresh_per_second=4, transient=True)
            if live
            else None
        )

    # -- activity.Listener ------------------------------------------------------------
    def phase(self, name: str, fields: dict[str, Any]) -> None:
        if name == "sampling":
            self.done = 0
        self.phase_name, self.phase_started, self.fields = name, time.monotonic(), fields
        if self.display is None and name in STARTUP:
            err.print(f"{name} ...")

    def verified(self) -> None:
        self.done += 1

    # -- round lines --------------------------------------------------------------------
    def round_line(self, info: dict[str, Any]) -> None:
        """The permanent line of a finished round (printed above the live line)."""
        self.last_round = info
        failures = ", ".join(f"{k} {v}" for k, v in sorted(info["failures"].items())) or "-"
        parts = [
            f"round {info['round']}",
            f"{info['used']}/{info['budget']} attempts",
            f"passes {info['passes']}",
            f"best {info['best_score']:.2f}",
            f"fails: {failures}",
        ]
        if info.get("loss") is not None:
            parts += [
                f"loss {info['loss']:.4f}",
                f"kl {info['kl']:.4f}",
                f"active {info['active_attempts']}",
            ]
        parts += [f"{info['tokens_per_s']:.0f} tok/s", f"~{seconds_left(info):.0f}s left"]
        err.print(" | ".join(parts))

    def render(self) -> Text:
        in_phase = time.monotonic() - self.phase_started
        parts = [f"{self.phase_name} {in_phase:.0f}s"]
        attempts = self.fields.get("attempts")
        if attempts:
            parts.append(f"round {self.fields.get('round', '?')}: {attempts} attempts")
            if self.phase_name == "verifying":
                parts.append(f"{self.done}/{attempts} verified")
        if self.last_round is not None:
            info = self.last_round
            parts += [
                f"{info['used']}/{info['budget']} used",
                f"{info['tokens_per_s']:.0f} tok/s",
                f"~{seconds_left(info):.0f}s left",
            ]
        parts.append(f"{time.monotonic() - self.started:.0f}s elapsed")
        return Text(" | ".join(parts), style="dim")


def seconds_left(info: dict[str, Any]) -> float:
    """Time to spend the rest of the budget at the pace so far."""
    return (info["budget"] - info["used"]) / max(1, info["used"]) * info["elapsed_s"]


@contextmanager
def status(json_output: bool) -> Iterator[Status]:
    """The listener for a command, live only on a terminal and without --json."""
    shown = Status(live=err.is_terminal and not json_output)
    with activity.listening(shown):
        if shown.display is None:
            yield shown
        else:
            with shown.display:
                yield shown
