"""Bootstrap CIs and IQM against closed forms and independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from plasticlab.analysis import bootstrap_ci, iqm, paired_bootstrap_ci, paired_difference, summarise


def test_bootstrap_ci_of_a_large_normal_sample_matches_the_normal_interval():
    rng = np.random.default_rng(0)
    sample = rng.normal(3.0, 2.0, 400)
    low, high = bootstrap_ci(sample, n_boot=20_000, seed=1)
    half = 1.96 * sample.std(ddof=1) / np.sqrt(len(sample))
    assert abs(low - (sample.mean() - half)) < 0.03 and abs(high - (sample.mean() + half)) < 0.03


def test_vectorised_equals_per_group_and_is_deterministic():
    rng = np.random.default_rng(2)
    matrix = rng.normal(size=(6, 5))
    low, high = bootstrap_ci(matrix, n_boot=2000, seed=4)
    for row in range(6):
        lo, hi = bootstrap_ci(matrix[row], n_boot=2000, seed=4)
        assert lo == low[row] and hi == high[row]
        assert lo <= matrix[row].mean() <= hi
    again = bootstrap_ci(matrix, n_boot=2000, seed=4)
    assert np.array_equal(again[0], low)


def test_single_seed_and_nan():
    low, high = bootstrap_ci(np.array([[0.7]]))
    assert low[0] == high[0] == 0.7
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci(np.array([1.0, np.nan]))


def test_iqm_is_the_25_percent_trimmed_mean():
    assert iqm(np.array([1.0, 2.0, 3.0, 4.0, 100.0, -50.0, 5.0, 6.0])) == pytest.approx(3.5)
    rng = np.random.default_rng(3)
    for n in (4, 8, 12, 20):
        x = rng.normal(size=(3, n))
        np.testing.assert_allclose(iqm(x), scipy_stats.trim_mean(x, 0.25, axis=-1))


def test_paired_ci_excludes_zero_for_a_consistent_small_effect():
    rng = np.random.default_rng(5)
    base = rng.normal(0, 1.0, 10)  # large seed-to-seed spread
    low, high = paired_bootstrap_ci(base + 0.1 + rng.normal(0, 0.01, 10), base)
    assert 0.0 < low < 0.1 < high


def _runs() -> pd.DataFrame:
    rows = []
    for variant, offset in (("warm", 0.0), ("fresh", 0.1)):
        for seed in range(3):
            for x in (1, 2):
                rows.append({"variant": variant, "seed": seed, "chunk": x, "metric": "acc", "value": 0.5 + offset + 0.01 * seed + 0.1 * x})
    rows.append({"variant": "fresh", "seed": 9, "chunk": 1, "metric": "acc", "value": 0.0})  # unpaired seed
    return pd.DataFrame(rows)


def test_summarise_gives_means_and_counts_per_group():
    table = summarise(_runs(), x="chunk")
    assert list(table.columns) == ["variant", "x", "metric", "mean", "ci_low", "ci_high", "n_seeds"]
    warm1 = table[(table.variant == "warm") & (table.x == 1)].iloc[0]
    assert warm1["mean"] == pytest.approx(0.61) and warm1["n_seeds"] == 3
    fresh1 = table[(table.variant == "fresh") & (table.x == 1)].iloc[0]
    assert fresh1["n_seeds"] == 4 and fresh1["mean"] == pytest.approx((0.70 + 0.71 + 0.72 + 0.0) / 4)
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()


def test_paired_difference_drops_unpaired_seeds():
    gaps = paired_difference(_runs(), x="chunk", metric="acc", baseline="warm", new_metric="gap")
    assert set(gaps["variant"]) == {"fresh"} and set(gaps["metric"]) == {"gap"}
    assert (gaps["n_seeds"] == 3).all()
    np.testing.assert_allclose(gaps["mean"], 0.1)
    np.testing.assert_allclose(gaps["ci_low"], 0.1)
