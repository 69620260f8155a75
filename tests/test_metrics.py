"""Discovery statistics against hand-computed values."""

import pytest

from sdpo_cli import metrics as M


@pytest.mark.parametrize(
    "n,c,k,expected",
    [
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (6, 1, 3, 1 - 10 / 20),  # 1 - C(5,3)/C(6,3)
        (4, 1, 1, 0.25),
        (10, 0, 5, 0.0),
        (3, 2, 2, 1.0),  # fewer failures than k: always a pass
        (7, 3, 0, 0.0),
    ],
)
def test_pass_at_k(n, c, k, expected):
    assert M.pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_refuses_k_above_n():
    with pytest.raises(ValueError, match="needs at least 6 samples"):
        M.pass_at_k(5, 1, 6)


def test_pass_at_k_large_pool_is_stable():
    assert M.pass_at_k(2750, 10, 2750) == 1.0
    assert 0 < M.pass_at_k(3000, 1, 1) == pytest.approx(1 / 3000)


def test_kaplan_meier_with_censoring_at_budget():
    # first successes at 2 and 4, one run unsolved (censored at the budget 5)
    curve = M.discovery_curve([2, None, 4], budget=5)
    assert curve == pytest.approx([0, 0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert M.mean_truncated(curve) == pytest.approx((2 + 5 + 4) / 3)
    assert M.median_attempts(curve) == 4


def test_kaplan_meier_with_early_censoring():
    # censored at 1 (leaves the risk set), events at 2 and 3
    survival = M.kaplan_meier([1, 2, 3], [False, True, True], [0, 1, 2, 3])
    assert survival == pytest.approx([1.0, 1.0, 0.5, 0.0])


def test_kaplan_meier_ties_of_events():
    survival = M.kaplan_meier([2, 2, 3, 4], [True, True, False, True], [1, 2, 3, 4])
    assert survival == pytest.approx([1.0, 0.5, 0.5, 0.0])


def test_median_not_reached():
    assert M.median_attempts(M.discovery_curve([None, None, 3], 4)) is None


def test_bootstrap_is_reproducible_under_a_seed():
    values = [1, 4, None, 2, 8, None, 3]
    stat = lambda s: M.mean_truncated(M.discovery_curve(s, 8))  # noqa: E731
    first = M.bootstrap(values, stat, resamples=300, seed=7).to_json()
    assert first == M.bootstrap(values, stat, resamples=300, seed=7).to_json()
    assert first != M.bootstrap(values, stat, resamples=300, seed=8).to_json()
    low, high = first
    assert low <= stat(values) <= high


def test_matched_ratio():
    baseline = [0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6]
    method = [0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.9, 0.9]
    assert M.matched_ratio(baseline, method, 0.5) == pytest.approx(6 / 2)
    assert M.matched_ratio(baseline, method, 0.95) is None


def test_cost_curve_uses_costs_as_time():
    assert M.cost_curve([10.0, 30.0], [True, False], [0, 10, 20, 30]) == pytest.approx(
        [0, 0.5, 0.5, 0.5]
    )
