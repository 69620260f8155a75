"""What sdpo is doing right now, for a live display: a phase and the round's counters.

Code that does the work reports here (`phase`, `verified`); the command line installs a
listener that draws it (cli/live.py) while a command runs. With no listener (a library
caller, a test) reporting costs a function call. Phases: loading model, starting
sampler, sampling, verifying, updating, syncing.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator, Protocol


class Listener(Protocol):
    def phase(self, name: str, fields: dict[str, Any]) -> None:
        """A new phase began; `fields` say how much of it there is (attempts, round)."""

    def verified(self) -> None:
        """One more attempt of the current batch was judged."""


_listeners: list[Listener] = []
_lock = threading.Lock()


def phase(name: str, **fields: Any) -> None:
    for listener in list(_listeners):
        listener.phase(name, fields)


def verified() -> None:
    """Called from the verification threads, once per judged attempt."""
    with _lock:
        for listener in list(_listeners):
            listener.verified()


@contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    _listeners.append(listener)
    try:
        yield listener
    finally:
        _listeners.remove(listener)
