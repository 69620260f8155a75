"""When two attempts are the same attempt: their texts with whitespace collapsed. A model
that repeats itself explores less; the compare report counts distinct attempts per
round, and `--repeat-weight` lets the SDPO loss weigh a repeated failure less."""

from __future__ import annotations


def attempt_key(text: str) -> str:
    return " ".join(text.split())
