"""How many times fewer attempts an arm needs than a baseline, with intervals, per
problem and on the question-averaged curve (paper §5: the headline is read off the
curve averaged over questions).

- Matched ratio at discovery probability p: k_baseline(p) / k_arm(p), at p = 0.25, 0.5
  and the highest level both curves reach. Its 90% interval resamples each arm's runs
  (a best-of-k pool's samples) independently: every arm samples its own streams
  (seeds.py), so the design is unpaired. In a resample a level a curve never reaches
  counts as budget + 1 attempts (a bound, not a gap).
- Win, loss or tie per problem, by the stated rule WIN_RULE.
- Power: an interval that spans 1 is underpowered; from its width on the log scale,
  how many seeds would likely make a 2x effect visible (an interval half-width below
  log 2 shrinks as 1 / sqrt(seeds)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import metrics as M

LEVELS = (0.25, 0.5)
RESAMPLES = 1000
WIN_RULE = (
    "win: the 90% bootstrap interval of (baseline - arm) mean attempts to first success, "
    "truncated at the budget, lies above 0; loss: below 0; tie: it contains 0"
)


@dataclass
class ArmSample:
    """What an arm's statistics are computed from: its runs' first-success times, or a
    best-of-k pool's outcomes, and the discovery curve they give."""

    values: list
    curve_of: Callable[[list], list[float]]
    runs: int

    def curve(self) -> list[float]:
        return self.curve_of(self.values)

    def resampled_curve(self, rng) -> list[float]:
        return self.curve_of(M.resample(self.values, rng))


def levels_of(base_curve: list[float], arm_curve: list[float]) -> list[float]:
    """LEVELS and the highest level both curves reach, exactly (a rounded level can lie
    above a curve's maximum and lose the ratio)."""
    reached = min(max(base_curve), max(arm_curve))
    return sorted({*LEVELS, reached} - {0.0})


def ratio_table(
    base_curve: list[float],
    arm_curve: list[float],
    resampled: Callable[[], tuple[list[float], list[float]]],
) -> dict[str, Any]:
    """Ratios with intervals at each level; `resampled` draws one (baseline, arm) pair of
    bootstrap curves."""
    levels = levels_of(base_curve, arm_curve)
    draws = [resampled() for _ in range(RESAMPLES)]
    table = {}
    for p in levels:
        estimates = [math.log(M.censored_ratio(b, a, p)) for b, a in draws]
        low, high = M.percentile_interval(estimates).to_json()
        table[f"{p:.4g}"] = {
            "ratio": M.matched_ratio(base_curve, arm_curve, p),
            "ci90": [math.exp(low), math.exp(high)],
        }
    return table


def headline(table: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The level a ratio is read at: 0.5, else 0.25, where both curves reach it; only
    where neither is reached, the highest level both reach. That level lies at the top
    of a curve, where a few seeds' Kaplan-Meier curve jumps to its last value and the
    bootstrap cannot show how uncertain that is, so it is never preferred."""
    known = {k: v for k, v in table.items() if v["ratio"] is not None}
    for key in (f"{p:.4g}" for p in sorted(LEVELS, reverse=True)):
        if key in known:
            return key, known[key]
    if not known:
        return None
    key = max(known, key=float)
    return key, known[key]


def power(entry: dict[str, Any], seeds: int) -> dict[str, Any]:
    """Whether a ratio's interval spans 1, and about how many seeds would make its
    log-scale half-width smaller than log 2."""
    low, high = entry["ci90"]
    half = (math.log(high) - math.log(low)) / 2
    needed = max(seeds, math.ceil(seeds * (half / math.log(2)) ** 2)) if half > 0 else seeds
    return {"spans_one": low <= 1 <= high, "seeds_for_2x": needed}


def problem_ratio(base: ArmSample, arm: ArmSample, budget: int, seed: int) -> dict[str, Any]:
    """The arm against one baseline on one problem: ratios, verdict and power."""
    rng = np.random.default_rng(seed)
    table = ratio_table(
        base.curve(), arm.curve(), lambda: (base.resampled_curve(rng), arm.resampled_curve(rng))
    )
    diffs = [
        M.mean_truncated(base.resampled_curve(rng)) - M.mean_truncated(arm.resampled_curve(rng))
        for _ in range(RESAMPLES)
    ]
    low, high = M.percentile_interval(diffs).to_json()
    verdict = "win" if low > 0 else "loss" if high < 0 else "tie"
    result: dict[str, Any] = {
        "levels": table,
        "mean_difference_ci90": [low, high],
        "verdict": verdict,
    }
    read = headline(table)
    if read is not None:
        result["headline"] = {"level": float(read[0]), **read[1], **power(read[1], arm.runs)}
    return result


def averaged_curve(curves: list[list[float]]) -> list[float]:
    return [sum(values) / len(values) for values in zip(*curves)]


def averaged_ratio(bases: list[ArmSample], arms: list[ArmSample], seed: int) -> dict[str, Any]:
    """The ratio on the question-averaged curves (attempts to reach a share of the
    problems solved), each problem's runs resampled independently."""
    rng = np.random.default_rng(seed)
    table = ratio_table(
        averaged_curve([b.curve() for b in bases]),
        averaged_curve([a.curve() for a in arms]),
        lambda: (
            averaged_curve([b.resampled_curve(rng) for b in bases]),
            averaged_curve([a.resampled_curve(rng) for a in arms]),
        ),
    )
    result: dict[str, Any] = {"levels": table}
    read = headline(table)
    if read is not None:
        seeds = min(a.runs for a in arms)
        result["headline"] = {"level": float(read[0]), **read[1], **power(read[1], seeds)}
    return result
