"""The compare analysis on a toy set worked out by hand: discovery curves, means and
medians, matched ratios, cost curves, bands and the aggregate.

Toy problem "p", budget 4:
- SDPO, three seeds: first success at 1, at 3, unsolved. Kaplan-Meier discovery@k for
  k = 0..4: 0, 1/3, 1/3, 2/3, 2/3. Mean attempts truncated at 4: 1 + 2/3 + 2/3 + 1/3 = 8/3.
  Median: 3 (first k with discovery >= 1/2).
- Best-of-k, a pool of 8 with 2 passes: pass@k = 1 - C(6, k) / C(8, k) = 0, 1/4, 13/28,
  9/14, 11/14. Mean 1 + 3/4 + 15/28 + 5/14 = 74/28. Median 3.
- Matched ratios k_bestofk(p) / k_sdpo(p): p = 1/4: 1/1; p = 1/2: 3/3; at the highest
  level both reach, 2/3: best-of-k first reaches 2/3 at k = 4 (9/14 < 2/3), SDPO at 3: 4/3.
"""

import pytest

from sdpo_cli.compare.analysis import analyse


def run(method, seed, solved_at, seconds, attempts=None, passes=0, problem="p", budget=4):
    """A finished job as load_runs gives it; `seconds`: cumulative cost per attempt."""
    return {
        "problem": problem,
        "method": method,
        "seed": seed,
        "budget": budget,
        "solved": solved_at is not None,
        "attempts_to_solve": solved_at,
        "attempts": attempts or len(seconds),
        "passes": passes,
        "costs": {"seconds": seconds, "tokens_generated": seconds, "tokens_processed": seconds},
    }


TOY = [
    run("sdpo", 0, 1, [2.0]),
    run("sdpo", 1, 3, [1.0, 2.0, 5.0]),
    run("sdpo", 2, None, [1.0, 2.0, 3.0, 4.0]),
    run("bestofk", 0, 1, [float(i) for i in range(1, 9)], attempts=8, passes=2),
]


@pytest.fixture(scope="module")
def toy():
    return analyse(TOY)


def test_curves_means_and_medians(toy):
    sdpo = toy["problems"]["p"]["methods"]["sdpo"]
    assert sdpo["curve"] == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert sdpo["mean_attempts"] == pytest.approx(8 / 3)
    assert sdpo["median_attempts"] == 3 and sdpo["solved_runs"] == 2
    pool = toy["problems"]["p"]["methods"]["bestofk"]
    assert pool["curve"] == pytest.approx([0, 1 / 4, 13 / 28, 9 / 14, 11 / 14])
    assert pool["mean_attempts"] == pytest.approx(74 / 28)
    assert pool["median_attempts"] == 3 and pool["discovery_at_budget"] == pytest.approx(11 / 14)


def test_matched_ratios_include_the_highest_level_both_curves_reach(toy):
    ratios = toy["problems"]["p"]["methods"]["sdpo"]["ratio_vs"]["bestofk"]
    assert ratios == {"0.25": 1.0, "0.5": 1.0, "0.6667": pytest.approx(4 / 3)}


def test_cost_curves(toy):
    """Seconds axis; the grid runs from 0 to the largest cost seen (8 s), 41 points.
    SDPO: solved at 2 s and 5 s, censored at 4 s: discovery 1/3 from 2 s, and 1 from 5 s
    (the only run still at risk then succeeds). Best-of-k: 1 s per attempt, so k seconds
    buy pass@k."""
    curves = toy["problems"]["p"]["methods"]
    grid = curves["sdpo"]["cost_curves"]["seconds"]["grid"]
    assert grid[0] == 0 and grid[-1] == 8 and len(grid) == 41
    sdpo = dict(zip(grid, curves["sdpo"]["cost_curves"]["seconds"]["discovery"]))
    assert [sdpo[g] for g in (0.0, 1.8, 2.0, 4.8)] == pytest.approx([0, 0, 1 / 3, 1 / 3])
    assert sdpo[5.0] == pytest.approx(1.0)
    pool = dict(zip(grid, curves["bestofk"]["cost_curves"]["seconds"]["discovery"]))
    assert [pool[g] for g in (0.8, 1.0, 2.0, 3.8, 8.0)] == pytest.approx(
        [0, 1 / 4, 13 / 28, 9 / 14, 11 / 14]
    )


def test_bands_are_the_curve_when_every_resample_is_the_same():
    same = analyse([run("sdpo", s, 2, [1.0, 2.0]) for s in range(3)])["problems"]["p"]
    low, high = same["methods"]["sdpo"]["band"]
    assert low == high == same["methods"]["sdpo"]["curve"] == [0, 0, 1, 1, 1]


def test_bands_bracket_the_toy_curves(toy):
    for stats in toy["problems"]["p"]["methods"].values():
        low, high = stats["band"]
        assert all(lo - 1e-9 <= c <= hi + 1e-9 for lo, c, hi in zip(low, stats["curve"], high))
        assert any(hi > lo for lo, hi in zip(low, high))  # the toy runs differ: real spread


def test_aggregate_averages_over_problems():
    """Problem q: one SDPO run solved at 1 (curve 0, 1, 1, 1, 1, mean 1) beside the toy."""
    result = analyse(TOY + [run("sdpo", 0, 1, [1.0], problem="q")])["aggregate"]["sdpo"]
    assert result["problems"] == 2
    assert result["mean_discovery_at_budget"] == pytest.approx((2 / 3 + 1) / 2)
    assert result["mean_attempts"] == pytest.approx((8 / 3 + 1) / 2)
    assert result["curve"] == pytest.approx([0, 2 / 3, 2 / 3, 5 / 6, 5 / 6])
