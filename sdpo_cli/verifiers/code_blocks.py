"""Find the program in a model's attempt: fenced code blocks (```lang ... ```)."""

from __future__ import annotations

import re

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)


def code_blocks(text: str) -> list[str]:
    """All complete fenced blocks, in order (an unclosed block at the end is not one)."""
    return [match.group(2) for match in FENCE.finditer(text)]


def last_code_block(text: str) -> str | None:
    blocks = code_blocks(text)
    return blocks[-1] if blocks else None


def last_block_defining(text: str, name: str) -> str | None:
    """The last block that defines function `name`; else the last block."""
    pattern = re.compile(rf"^\s*(async\s+)?def\s+{re.escape(name)}\s*\(", re.MULTILINE)
    blocks = code_blocks(text)
    defining = [b for b in blocks if pattern.search(b)]
    return defining[-1] if defining else (blocks[-1] if blocks else None)
