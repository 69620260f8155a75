"""`sdpo import reasoning-gym DATASET --count N --seed S`: problems generated locally by
the reasoning-gym package (extra `reasoning-gym`).

Countdown and 24-game entries become built-in `arithmetic` problems (numbers and target;
its feedback names the value reached and the numbers missing). Every other entry becomes
a `reasoning_gym` problem that regenerates the entry and scores with the dataset's own
scorer (verifiers/reasoning_gym.py). Prompts are the dataset's question plus the
instruction to end with an "Answer:" line; the reference is the dataset's answer in that
form, so `sdpo check` can run it.
"""

from __future__ import annotations

from typing import Any

from ..errors import EnvironmentProblem, UsageError
from ..verifiers.extraction import HOW_TO

ARITHMETIC = ("countdown", "puzzle24")


def import_reasoning_gym(
    name: str, count: int, seed: int, config: dict[str, Any]
) -> list[dict[str, Any]]:
    try:
        import reasoning_gym
    except ImportError:
        raise EnvironmentProblem(
            "the reasoning-gym package is not installed",
            hint="pip install 'sdpo-cli[reasoning-gym]'",
        ) from None
    if count < 1:
        raise UsageError(f"--count = {count} is out of range (at least 1)")
    try:
        generated = reasoning_gym.create_dataset(name, size=count, seed=seed, **config)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"reasoning-gym refused dataset {name!r}: {exc}") from None
    return [entry_problem(name, generated[i], i, count, seed, config) for i in range(count)]


def entry_problem(
    name: str, entry: dict, index: int, count: int, seed: int, config: dict
) -> dict[str, Any]:
    meta = entry.get("metadata", {})
    if name in ARITHMETIC and "numbers" in meta:
        verifier = {
            "kind": "arithmetic",
            "numbers": list(meta["numbers"]),
            "target": int(meta.get("target", 24)),
        }
    else:
        verifier = {
            "kind": "reasoning_gym",
            "dataset": name,
            "config": config,
            "seed": seed,
            "size": count,
            "index": index,
        }
    return {
        "id": f"{name}-s{seed}-{index:04d}".replace("_", "-"),
        "prompt": f"{entry['question'].rstrip()}\n\n{HOW_TO['answer_line']}",
        "verifier": verifier,
        "reference": f"Answer: {entry['answer']}",
        "metadata": {"source": f"reasoning-gym {name}", "difficulty": "unknown"},
    }
