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

from sdpo_cli.compare.analysis import analyse, mean_round_shares, round_shares


def run(method, seed, solved_at, seconds, attempts=None, passes=0, problem="p", budget=4):
    """A finished job as load_runs gives it; `seconds`: cumulative cost per attempt."""
    return {
        "problem": problem,
        "method": method,
        "arm": method,
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
    sdpo = toy["problems"]["p"]["arms"]["sdpo"]
    assert sdpo["curve"] == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert sdpo["mean_attempts"] == pytest.approx(8 / 3)
    assert sdpo["median_attempts"] == 3 and sdpo["solved_runs"] == 2
    pool = toy["problems"]["p"]["arms"]["bestofk"]
    assert pool["curve"] == pytest.approx([0, 1 / 4, 13 / 28, 9 / 14, 11 / 14])
    assert pool["mean_attempts"] == pytest.approx(74 / 28)
    assert pool["median_attempts"] == 3 and pool["discovery_at_budget"] == pytest.approx(11 / 14)


def test_matched_ratios_include_the_highest_level_both_curves_reach(toy):
    levels = toy["problems"]["p"]["arms"]["sdpo"]["vs"]["bestofk"]["levels"]
    ratios = {level: entry["ratio"] for level, entry in levels.items()}
    assert ratios == {"0.25": 1.0, "0.5": 1.0, "0.6667": pytest.approx(4 / 3)}


def test_cost_curves(toy):
    """Seconds axis; the grid runs from 0 to the largest cost seen (8 s), 41 points.
    SDPO: solved at 2 s and 5 s, censored at 4 s: discovery 1/3 from 2 s, and 1 from 5 s
    (the only run still at risk then succeeds). Best-of-k: 1 s per attempt, so k seconds
    buy pass@k."""
    curves = toy["problems"]["p"]["arms"]
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
    low, high = same["arms"]["sdpo"]["band"]
    assert low == high == same["arms"]["sdpo"]["curve"] == [0, 0, 1, 1, 1]


def test_bands_bracket_the_toy_curves(toy):
    for stats in toy["problems"]["p"]["arms"].values():
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


def test_a_median_beyond_the_budget_is_censored_not_dropped():
    """Times 5, 20 and two unsolved, budget 32: the median is 20, and about 31% of the
    resamples hold fewer than two successes, a median beyond 32: the interval's upper end
    reads "> 32" (dropping those resamples gave [5, 20])."""
    runs = [
        run("sdpo", s, t, [1.0] * (t or 32), budget=32) for s, t in enumerate([5, None, None, 20])
    ]
    stats = analyse(runs)["problems"]["p"]["arms"]["sdpo"]
    assert stats["median_attempts"] == 20
    assert stats["ci90"]["median_attempts"] == [5, "> 32"]
    unsolved = analyse([run("sdpo", 0, None, [1.0] * 32, budget=32)])["problems"]["p"]["arms"]
    assert unsolved["sdpo"]["median_attempts"] == "> 32"


def pool_run(n, c, budget=4, problem="p"):
    return run(
        "bestofk",
        0,
        1 if c else None,
        [float(i) for i in range(1, n + 1)],
        attempts=n,
        passes=c,
        budget=budget,
        problem=problem,
    )


def test_ratio_intervals_verdicts_and_power_where_every_resample_agrees():
    """SDPO solves at attempt 2 every time; a best-of-k pool that always passes needs 1:
    ratio 1/2 at every level with a point interval, a loss (means 2 against 1), and no
    interval spanning 1."""
    runs = [run("sdpo", s, 2, [1.0, 2.0]) for s in range(3)] + [pool_run(8, 8)]
    result = analyse(runs)["problems"]["p"]["arms"]["sdpo"]["vs"]["bestofk"]
    assert {k: v["ratio"] for k, v in result["levels"].items()} == {
        "0.25": 0.5,
        "0.5": 0.5,
        "1": 0.5,
    }
    assert result["levels"]["0.5"]["ci90"] == pytest.approx([0.5, 0.5])
    assert result["verdict"] == "loss" and result["mean_difference_ci90"] == pytest.approx([-1, -1])
    assert result["headline"]["level"] == 0.5
    assert result["headline"]["spans_one"] is False and result["headline"]["seeds_for_2x"] == 3


def test_a_win_and_an_underpowered_tie():
    """Win: SDPO at attempt 1 always, against a pool of 8 with one pass (pass@k = k/8,
    mean 1 + 7/8 + 6/8 + 5/8 = 3.25 > 1 in every resample), ratio 2 at p = 1/4.
    Tie: three SDPO runs at 1, 4, unsolved against the same pool: the interval of the
    ratio spans 1, and more seeds than three are needed to see a 2x effect."""
    win = analyse([run("sdpo", s, 1, [1.0]) for s in range(3)] + [pool_run(8, 1)])
    result = win["problems"]["p"]["arms"]["sdpo"]["vs"]["bestofk"]
    assert result["verdict"] == "win" and result["levels"]["0.25"]["ratio"] == 2.0
    mixed = [
        run("sdpo", 0, 1, [1.0]),
        run("sdpo", 1, 4, [1.0] * 4),
        run("sdpo", 2, None, [1.0] * 4),
    ]
    tie = analyse(mixed + [pool_run(8, 1)])["problems"]["p"]["arms"]["sdpo"]["vs"]["bestofk"]
    assert tie["verdict"] == "tie"
    assert tie["headline"]["spans_one"] is True and tie["headline"]["seeds_for_2x"] > 3


def test_the_question_averaged_ratio():
    """Problems p and q, SDPO solved at 1 on both, best-of-k pools of 8 with 8 and with 4
    passes: averaged best-of-k curve at k = 1: (1 + 1/2) / 2 = 3/4, at k = 2: (1 + 11/14)
    / 2. SDPO reaches 1 at k = 1; best-of-k reaches 3/4 at k = 1, 1/2 at k = 1."""
    runs = [run("sdpo", s, 1, [1.0], problem=p) for s in range(3) for p in "pq"]
    runs += [pool_run(8, 8, problem="p"), pool_run(8, 4, problem="q")]
    aggregate = analyse(runs)["aggregate"]
    assert aggregate["bestofk"]["curve"][:3] == pytest.approx([0, 3 / 4, (1 + 11 / 14) / 2])
    levels = aggregate["sdpo"]["vs"]["bestofk"]["levels"]
    assert levels["0.5"]["ratio"] == 1.0 and levels["0.25"]["ratio"] == 1.0


def test_the_headline_is_read_at_a_fixed_level_before_the_highest_reached():
    """A level at the top of the curves (0.4967 here) is where five seeds' curve jumps to
    its last value: the headline prefers 0.5, then 0.25, and uses it only without them."""
    from sdpo_cli.compare.ratios import headline

    entry = {"ratio": 1.6, "ci90": [1.25, 6.6]}
    table = {"0.25": {"ratio": 1.2, "ci90": [0.6, 7.0]}, "0.4967": entry, "0.5": {"ratio": None}}
    assert headline(table)[0] == "0.25"
    assert headline({"0.4967": entry, "0.5": {"ratio": None}}) == ("0.4967", entry)
    assert headline({"0.5": {"ratio": None}}) is None


def attempt(round_no, text, failure=None):
    return {"round": round_no, "text": text, "verdict": {"failure_type": failure}}


def test_round_shares_count_distinct_and_well_formed_attempts():
    """Round 1: "a b", "a  b" (the same after collapsing whitespace) and "c": 2 of 3
    distinct; one failed on its format: 2 of 3 well-formed. Round 2: one passing attempt."""
    shares = round_shares(
        [
            attempt(1, "a b", "wrong_answer"),
            attempt(1, "a  b", "incorrect_format"),
            attempt(1, "c", "runtime_error"),
            attempt(2, "d"),
        ]
    )
    assert shares == [
        {"round": 1, "attempts": 3, "distinct": 2 / 3, "well_formed": 2 / 3},
        {"round": 2, "attempts": 1, "distinct": 1.0, "well_formed": 1.0},
    ]


def test_per_round_shares_are_averaged_over_the_runs_that_reached_the_round():
    runs = [
        {"rounds_seen": [{"distinct": 1.0, "well_formed": 0.5}]},
        {
            "rounds_seen": [
                {"distinct": 0.5, "well_formed": 0.0},
                {"distinct": 1.0, "well_formed": 1.0},
            ]
        },
    ]
    assert mean_round_shares(runs) == [
        {"round": 1, "runs": 2, "distinct": 0.75, "well_formed": 0.25},
        {"round": 2, "runs": 1, "distinct": 1.0, "well_formed": 1.0},
    ]


def test_cost_per_attempt_of_each_arm(toy):
    # SDPO: 1 + 3 + 4 attempts costing 2 + 5 + 4 s; best-of-k: 8 attempts, 8 s
    assert toy["cost"] == {
        "bestofk": {"attempts": 8, "seconds": 8.0, "seconds_per_attempt": 1.0},
        "sdpo": {"attempts": 8, "seconds": 11.0, "seconds_per_attempt": 1.375},
    }
