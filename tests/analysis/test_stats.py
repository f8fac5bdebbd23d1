"""Bootstrap CIs and IQM against closed forms and independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from plasticlab.analysis import bootstrap_ci, iqm, paired_bootstrap_ci
from plasticlab.analysis import stats as stats_module


def test_bootstrap_ci_of_a_large_normal_sample_matches_the_normal_interval():
    rng = np.random.default_rng(0)
    sample = rng.normal(3.0, 2.0, 400)
    low, high = bootstrap_ci(sample, n_boot=20_000, seed=1)
    half = 1.96 * sample.std(ddof=1) / np.sqrt(len(sample))  # 0.196 here
    assert low.shape == high.shape == ()
    assert abs(low - (sample.mean() - half)) < 0.02
    assert abs(high - (sample.mean() + half)) < 0.02


def test_confidence_level_widens_the_interval():
    sample = np.random.default_rng(1).normal(size=50)
    low90, high90 = bootstrap_ci(sample, confidence=0.90)
    low99, high99 = bootstrap_ci(sample, confidence=0.99)
    assert low99 < low90 < high90 < high99


@pytest.mark.parametrize("statistic, reference", [
    ("mean", lambda x: x.mean(axis=-1)),
    ("median", lambda x: np.median(x, axis=-1)),
    ("iqm", lambda x: scipy_stats.trim_mean(x, 0.25, axis=-1)),
])
def test_ci_contains_the_point_estimate(statistic, reference):
    samples = np.random.default_rng(2).lognormal(size=(20, 10))  # skewed, as returns often are
    low, high = bootstrap_ci(samples, statistic=statistic, n_boot=2000)
    point = reference(samples)
    assert low.shape == (20,)
    assert np.all(low <= point) and np.all(point <= high) and np.all(low < high)


@pytest.mark.parametrize("statistic", ["mean", "median", "iqm"])
def test_vectorised_equals_per_group_loop(statistic):
    matrix = np.random.default_rng(3).normal(size=(2, 3, 5))
    low, high = bootstrap_ci(matrix, statistic=statistic, n_boot=1000, seed=4)
    assert low.shape == high.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            lo, hi = bootstrap_ci(matrix[i, j], statistic=statistic, n_boot=1000, seed=4)
            assert lo == low[i, j] and hi == high[i, j]


def test_memory_chunking_does_not_change_the_result(monkeypatch):
    matrix = np.random.default_rng(5).normal(size=(7, 6))
    whole = bootstrap_ci(matrix, n_boot=500, seed=2)
    monkeypatch.setattr(stats_module, "_BLOCK_ELEMENTS", 500 * 6 * 2)  # two groups per block
    chunked = bootstrap_ci(matrix, n_boot=500, seed=2)
    np.testing.assert_array_equal(whole[0], chunked[0])
    np.testing.assert_array_equal(whole[1], chunked[1])


def test_deterministic_for_a_seed_and_seed_dependent():
    sample = np.random.default_rng(6).normal(size=(4, 8))
    first, again, other = (bootstrap_ci(sample, n_boot=500, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_single_seed_gives_a_degenerate_interval_at_the_value():
    low, high = bootstrap_ci(np.array([[0.7], [0.2]]))
    np.testing.assert_array_equal(low, [0.7, 0.2])
    np.testing.assert_array_equal(high, [0.7, 0.2])
    low, high = bootstrap_ci(np.array([1.5]), statistic="iqm")
    assert low == high == 1.5


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci(np.array([[1.0, 2.0], [1.0, np.nan]]))
    with pytest.raises(ValueError, match="unknown statistic"):
        bootstrap_ci(np.ones(3), statistic="mode")
    with pytest.raises(ValueError, match="at least one sample"):
        bootstrap_ci(np.ones((2, 0)))
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(np.ones(3), confidence=95)


def test_iqm_by_hand():
    # sorted: -50 1 2 3 4 5 6 100 -> middle four 2 3 4 5
    assert iqm(np.array([1.0, 2.0, 3.0, 4.0, 100.0, -50.0, 5.0, 6.0])) == pytest.approx(3.5)
    # n = 5: int(1.25) = 1 trimmed each end: -7 [1 2 3] 10
    assert iqm(np.array([10.0, 1.0, 2.0, 3.0, -7.0])) == pytest.approx(2.0)
    assert iqm(np.array([4.0])) == 4.0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 12, 21])
def test_iqm_equals_scipy_trim_mean(n):
    x = np.random.default_rng(n).standard_cauchy(size=(3, n))
    np.testing.assert_allclose(iqm(x), scipy_stats.trim_mean(x, 0.25, axis=-1))
    np.testing.assert_allclose(iqm(x.T, axis=0), scipy_stats.trim_mean(x, 0.25, axis=-1))


def test_paired_ci_resolves_a_consistent_effect_that_unpaired_cis_do_not():
    rng = np.random.default_rng(5)
    base = rng.normal(0, 1.0, 10)  # large seed-to-seed spread shared by both
    treated = base + 0.1 + rng.normal(0, 0.01, 10)
    low, high = paired_bootstrap_ci(treated, base)
    assert 0.0 < low < 0.1 < high < 0.2
    (low_t, high_t), (low_b, high_b) = bootstrap_ci(treated), bootstrap_ci(base)
    assert low_t < high_b and low_b < high_t  # the unpaired intervals overlap
    with pytest.raises(ValueError, match="equal shapes"):
        paired_bootstrap_ci(np.ones(3), np.ones(4))
