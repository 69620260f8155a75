"""Sampling seeds as independent streams.

Every batch of attempts is sampled under a seed derived from what it belongs to: the
method (its stream), the run's seed, the round, the part of the round, the prompt. The
derivation is a hash, so distinct keys give unrelated seeds: SDPO and multi-turn runs
of seed 0 do not share their first round, the probe's teacher and control samples do
not overlap, and two prompts in one batch never share a seed. The same keys always give
the same seed, which is what a resumed run relies on.
"""

from __future__ import annotations

import hashlib


def stream_seed(*keys: object) -> int:
    """A 31-bit seed determined by `keys` (their text), unrelated to any other keys'."""
    text = "/".join(map(str, keys)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") % (2**31)
