"""Find the program in a model's attempt: fenced code blocks (```lang ... ```).

Linear-time scans with str.find, no regular expression over the whole attempt: a small
model at temperature 1.0 writes runs of backticks, newlines and spaces as an ordinary
failure, and a backtracking pattern took minutes on them.
"""

from __future__ import annotations

import re

FENCE = "```"


def code_blocks(text: str) -> list[str]:
    """All complete fenced blocks, in order (an unclosed block at the end is not one).
    A block opens with ``` and the rest of its line (the language), and closes at the
    next ```."""
    blocks, position = [], 0
    while (start := text.find(FENCE, position)) >= 0:
        newline = text.find("\n", start + len(FENCE))
        if newline < 0:
            break
        end = text.find(FENCE, newline + 1)
        if end < 0:
            break
        blocks.append(text[newline + 1 : end])
        position = end + len(FENCE)
    return blocks


def last_code_block(text: str) -> str | None:
    blocks = code_blocks(text)
    return blocks[-1] if blocks else None


def last_block_defining(text: str, name: str) -> str | None:
    """The last block that defines function `name`; else the last block."""
    definition = re.compile(rf"(?:async\s+)?def\s+{re.escape(name)}\s*\(")
    blocks = code_blocks(text)
    defining = [b for b in blocks if any(definition.match(line.lstrip()) for line in b.split("\n"))]
    return defining[-1] if defining else (blocks[-1] if blocks else None)
