"""Discovery statistics (paper §5; docs/method.md): pure functions, standard library and numpy.

- pass@k from one i.i.d. pool of n samples with c passes, unbiased (Chen et al. 2021):
  1 - C(n-c, k) / C(n, k), computed as a product; k > n is refused.
- Sequential methods: one first-success time per seed, censored at the budget;
  discovery@k = 1 - S(k) with S the Kaplan-Meier survival curve.
- Mean attempts to first success truncated at the budget = sum_{k<B} S(k); median =
  the first k with discovery@k >= 1/2; bootstrap percentile intervals under a seed;
  the ratio of attempts at matched discovery probability, k_baseline(p) / k_sdpo(p).
- A statistic that lies beyond the budget (a median, k(p) of a curve that never reaches
  p) is censored, never dropped: it counts as B + 1, "more than B", in every resample,
  and is reported as "> B".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, the pool has {n}")
    if k <= 0:
        return 0.0
    if n - c < k:
        return 1.0
    fail = 1.0
    for i in range(n - c + 1, n + 1):
        fail *= 1.0 - k / i
    return 1.0 - fail


def pass_curve(n: int, c: int, budget: int) -> list[float]:
    """[pass@0, pass@1, ..., pass@budget]."""
    return [pass_at_k(n, c, k) for k in range(budget + 1)]


def kaplan_meier(times: list[float], events: list[bool], grid: list[float]) -> list[float]:
    """Survival S(t) = P(T > t) at each grid point; events[i] False = censored at times[i]."""
    pairs = sorted(zip(times, events))
    survival, at_risk, curve, i = 1.0, len(pairs), [], 0
    for t in grid:
        while i < len(pairs) and pairs[i][0] <= t:
            same = [e for tt, e in pairs[i:] if tt == pairs[i][0]]
            deaths = sum(same)
            if at_risk > 0 and deaths:
                survival *= 1.0 - deaths / at_risk
            at_risk -= len(same)
            i += len(same)
        curve.append(survival)
    return curve


def discovery_curve(first_success: list[int | None], budget: int) -> list[float]:
    """discovery@k for k = 0..budget from runs' first-success indices (None = unsolved,
    censored at the budget)."""
    times = [t if t is not None else budget for t in first_success]
    events = [t is not None for t in first_success]
    return [1.0 - s for s in kaplan_meier(times, events, list(range(budget + 1)))]


def mean_truncated(curve: list[float]) -> float:
    """E[min(T, B)] = sum_{k=0}^{B-1} P(T > k) from a discovery curve of length B+1."""
    return float(sum(1.0 - d for d in curve[:-1]))


def attempts_at(curve: list[float], probability: float) -> int | None:
    """Smallest k with discovery@k >= probability, or None if never reached."""
    for k, value in enumerate(curve):
        if value >= probability - 1e-12:
            return k
    return None


def median_attempts(curve: list[float]) -> int | None:
    return attempts_at(curve, 0.5)


def censored_attempts(curve: list[float], probability: float) -> int:
    """attempts_at, with a level the curve never reaches counted as budget + 1."""
    found = attempts_at(curve, probability)
    return len(curve) if found is None else found


@dataclass
class Interval:
    low: float | None
    high: float | None

    def to_json(self) -> list[float | None]:
        return [self.low, self.high]


def resample(values: list, rng) -> list:
    """One bootstrap resample: len(values) draws with replacement."""
    return [values[i] for i in rng.integers(0, len(values), len(values))]


def percentile_interval(estimates: list[float], level: float = 0.90) -> Interval:
    if not estimates:
        return Interval(None, None)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return Interval(float(low), float(high))


def bootstrap(
    values: list, statistic, resamples: int = 1000, level: float = 0.90, seed: int = 0
) -> Interval:
    """Percentile bootstrap interval of statistic(resample). The statistic must give a
    number for every resample (censor values beyond the budget, never drop them)."""
    if not values:
        return Interval(None, None)
    rng = np.random.default_rng(seed)
    return percentile_interval([statistic(resample(values, rng)) for _ in range(resamples)], level)


def matched_ratio(baseline: list[float], method: list[float], probability: float) -> float | None:
    """k_baseline(p) / k_method(p): how many times fewer attempts the method needs; None
    where either curve never reaches p."""
    kb, km = attempts_at(baseline, probability), attempts_at(method, probability)
    if kb is None or km is None or km == 0:
        return None
    return kb / km


def censored_ratio(baseline: list[float], method: list[float], probability: float) -> float:
    """matched_ratio for resamples: a curve that never reaches p counts budget + 1
    attempts there (so a resample is a bound, not a gap)."""
    kb, km = censored_attempts(baseline, probability), censored_attempts(method, probability)
    return kb / max(km, 1)


def cost_curve(costs: list[float], events: list[bool], grid: list[float]) -> list[float]:
    """discovery as a function of a cost (tokens, seconds) rather than attempts."""
    return [1.0 - s for s in kaplan_meier(costs, events, grid)]


def wilson(successes: int, n: int, z: float = 1.645) -> Interval:
    """Wilson score interval of a binomial proportion (z = 1.645: 90%)."""
    if n == 0:
        return Interval(None, None)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def difference_interval(a: int, n_a: int, b: int, n_b: int) -> Interval:
    """Interval of the difference of two binomial proportions a/n_a - b/n_b from their
    90% Wilson intervals (Newcombe 1998, method 10); unbounded where either group is
    empty."""
    if not n_a or not n_b:
        return Interval(None, None)
    p, q = a / n_a, b / n_b
    lp, up = wilson(a, n_a).low, wilson(a, n_a).high
    lq, uq = wilson(b, n_b).low, wilson(b, n_b).high
    return Interval(
        p - q - math.sqrt((p - lp) ** 2 + (uq - q) ** 2),
        p - q + math.sqrt((up - p) ** 2 + (q - lq) ** 2),
    )
