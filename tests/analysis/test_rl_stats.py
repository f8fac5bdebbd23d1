"""rliable-style statistics against hand-computed cases, scipy and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from plasticlab.analysis import rl_stats
from plasticlab.analysis.rl_stats import (AGGREGATES, aggregate_iqm, aggregate_mean, aggregate_median, aggregate_table,
                                          average_score_distribution, improvement_table, optimality_gap, per_task_table,
                                          performance_profile, probability_of_improvement, probability_of_improvement_ci,
                                          profile_table, sample_efficiency_curve, sample_efficiency_table,
                                          score_distribution, stratified_bootstrap_ci)

N_BOOT = 500


def _scores(n_runs: int = 5, n_tasks: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(size=(n_runs, n_tasks))  # skewed, as HNS are


# --- aggregates --------------------------------------------------------------------------------

def test_iqm_by_hand_pools_runs_and_tasks():
    # pooled sorted: -50 1 2 3 | 4 5 6 100 -> middle four 2 3 4 5
    scores = np.array([[-50.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 100.0]])
    assert aggregate_iqm(scores) == pytest.approx(3.5)
    # averaging runs first would give the IQM of [-23, 3, 4, 51.5] = 3.5 too; break the tie:
    scores = np.array([[0.0, 0.0, 0.0, 10.0], [0.0, 0.0, 0.0, 10.0]])
    assert aggregate_iqm(scores) == pytest.approx(0.0)  # pooled: middle four of 0×6, 10×2


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (5, 26), (10, 3), (7, 4)])
def test_iqm_equals_scipy_trim_mean_of_the_pooled_scores(shape):
    scores = np.random.default_rng(sum(shape)).standard_cauchy(size=shape)
    assert aggregate_iqm(scores) == pytest.approx(scipy_stats.trim_mean(scores, 0.25, axis=None))


def test_mean_and_median_follow_rliable_definitions():
    scores = np.array([[1.0, 10.0, 0.0], [3.0, 20.0, 2.0]])  # per-task means 2, 15, 1
    assert aggregate_mean(scores) == pytest.approx(6.0)
    assert aggregate_median(scores) == pytest.approx(2.0)  # median of task means, not of all scores


def test_optimality_gap_closed_form():
    scores = np.array([[0.5, 2.0], [1.0, -1.0]])  # shortfalls below 1: 0.5, 0, 0, 2
    assert optimality_gap(scores) == pytest.approx(0.625)
    assert optimality_gap(scores, gamma=2.0) == pytest.approx((1.5 + 0 + 1 + 3) / 4)
    assert optimality_gap(np.full((3, 4), 1.7)) == 0.0
    assert optimality_gap(np.zeros((3, 4))) == 1.0
    rng = np.random.default_rng(1)
    x = rng.normal(1.0, 1.0, size=(6, 9))
    assert optimality_gap(x) == pytest.approx(1.0 - np.minimum(x, 1.0).mean())


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_aggregates_are_vectorised_over_leading_axes(name):
    batch = np.random.default_rng(2).normal(size=(3, 2, 5, 4))
    result = AGGREGATES[name](batch)
    assert result.shape == (3, 2)
    assert result[2, 1] == pytest.approx(AGGREGATES[name](batch[2, 1]))


# --- probability of improvement ------------------------------------------------------------------

def test_probability_of_improvement_on_separated_and_identical_scores():
    low, high = np.zeros((4, 3)), np.ones((5, 3))
    assert probability_of_improvement(high, low) == 1.0
    assert probability_of_improvement(low, high) == 0.0
    x = _scores()
    assert probability_of_improvement(x, x) == pytest.approx(0.5)


def test_probability_of_improvement_by_hand_with_ties():
    x = np.array([[1.0, 5.0], [2.0, 5.0]])
    y = np.array([[1.0, 4.0], [3.0, 5.0]])
    # task 0: (1,1) tie .5, (1,3) 0, (2,1) 1, (2,3) 0 -> 1.5/4; task 1: (5,4) 1, (5,5) .5, twice -> 3/4
    assert probability_of_improvement(x, y) == pytest.approx((0.375 + 0.75) / 2)


def test_probability_of_improvement_equals_mann_whitney_u_over_nm():
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 5, size=(6, 4)).astype(float), rng.integers(0, 5, size=(9, 4)).astype(float)  # ties
    per_task = [scipy_stats.mannwhitneyu(x[:, t], y[:, t]).statistic / (6 * 9) for t in range(4)]
    assert probability_of_improvement(x, y) == pytest.approx(np.mean(per_task))


def test_probability_of_improvement_ci():
    x, y = _scores(8, 6, seed=4), _scores(8, 6, seed=5)
    point, low, high = probability_of_improvement_ci(x + 0.3, y, n_boot=N_BOOT)
    assert low <= point <= high and low < high
    assert probability_of_improvement_ci(np.ones((3, 2)), np.zeros((4, 2)), n_boot=50)[1:] == (1.0, 1.0)
    with pytest.raises(ValueError, match="same tasks"):
        probability_of_improvement_ci(np.ones((3, 2)), np.zeros((3, 4)))


# --- performance profiles -----------------------------------------------------------------------

def test_performance_profiles_at_known_thresholds():
    scores = np.array([[0.1, 0.5], [1.0, 2.0]])  # task means 0.55, 1.25
    taus = np.array([0.0, 0.5, 1.0, 1.5, 3.0])
    np.testing.assert_allclose(score_distribution(scores, taus), [1.0, 0.5, 0.25, 0.25, 0.0])  # strict ">"
    np.testing.assert_allclose(average_score_distribution(scores, taus), [1.0, 1.0, 0.5, 0.0, 0.0])
    point, low, high = performance_profile(scores, taus, n_boot=N_BOOT)
    assert point.shape == low.shape == high.shape == (5,)
    assert np.all(low <= point) and np.all(point <= high)
    assert low[0] == high[0] == 1.0 and low[-1] == high[-1] == 0.0  # certain at the extremes
    with pytest.raises(ValueError, match="unknown profile"):
        performance_profile(scores, taus, "cumulative")


# --- stratified bootstrap --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_ci_contains_the_point_estimate(name):
    scores = _scores(6, 10)
    point, low, high = stratified_bootstrap_ci(scores, name, n_boot=N_BOOT)
    assert point == pytest.approx(AGGREGATES[name](scores))
    assert low <= point <= high and low < high


def test_deterministic_for_a_seed_and_seed_dependent():
    scores = _scores()
    first, again, other = (stratified_bootstrap_ci(scores, "iqm", n_boot=N_BOOT, seed=s) for s in (7, 7, 8))
    assert first == again
    assert first[1:] != other[1:]


def test_ci_shrinks_with_more_runs():
    few, many = _scores(4, 8, seed=9), _scores(64, 8, seed=9)
    (_, low_few, high_few), (_, low_many, high_many) = (stratified_bootstrap_ci(s, "mean", n_boot=N_BOOT)
                                                        for s in (few, many))
    assert high_many - low_many < 0.5 * (high_few - low_few)  # about sqrt(4/64) = 1/4


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_resampling_never_mixes_tasks(name):
    # Each task is constant across runs but tasks differ: any resample within tasks is the data
    # itself, so the CI has zero width; a resample that mixed tasks would spread it.
    scores = np.tile(np.array([0.0, 0.3, 1.0, 2.5, 7.0]), (6, 1))
    point, low, high = stratified_bootstrap_ci(scores, name, n_boot=N_BOOT)
    assert low == pytest.approx(point) and high == pytest.approx(point)


def test_mean_ci_matches_the_normal_interval_of_a_stratified_mean():
    rng = np.random.default_rng(10)
    scores = rng.normal(loc=np.arange(4.0), scale=[0.5, 1.0, 2.0, 1.0], size=(200, 4))
    point, low, high = stratified_bootstrap_ci(scores, "mean", n_boot=4000)
    half = 1.96 * np.sqrt(scores.var(axis=0).sum() / 200) / 4  # variance of a mean of 4 task means
    assert low == pytest.approx(point - half, abs=0.02) and high == pytest.approx(point + half, abs=0.02)


def test_chunking_does_not_change_the_result(monkeypatch):
    scores = _scores(5, 7)
    whole = stratified_bootstrap_ci(scores, "iqm", n_boot=300, seed=2)
    monkeypatch.setattr(rl_stats, "_BLOCK_ELEMENTS", 4 * scores.size * 7)  # seven replicates per block
    assert stratified_bootstrap_ci(scores, "iqm", n_boot=300, seed=2) == whole
    x, y = _scores(4, 3, seed=1), _scores(5, 3, seed=2)
    monkeypatch.setattr(rl_stats, "_BLOCK_ELEMENTS", 1)
    chunked = probability_of_improvement_ci(x, y, n_boot=50, seed=3)
    monkeypatch.undo()
    assert probability_of_improvement_ci(x, y, n_boot=50, seed=3) == chunked


def test_sample_efficiency_curve_equals_a_loop_over_checkpoints():
    curves = np.random.default_rng(11).lognormal(size=(5, 6, 4)).cumsum(axis=-1)
    point, low, high = sample_efficiency_curve(curves, "iqm", n_boot=N_BOOT, seed=3)
    assert point.shape == low.shape == high.shape == (4,)
    for p in range(4):
        alone = stratified_bootstrap_ci(curves[..., p], "iqm", n_boot=N_BOOT, seed=3)  # same resampled runs
        np.testing.assert_allclose(alone, (point[p], low[p], high[p]), rtol=1e-12)
    with pytest.raises(ValueError, match="n_points"):
        sample_efficiency_curve(curves[..., 0])


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        stratified_bootstrap_ci(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="unknown statistic"):
        stratified_bootstrap_ci(np.ones((2, 2)), "mode")
    with pytest.raises(ValueError, match="n_runs, n_tasks"):
        stratified_bootstrap_ci(np.ones(3))
    with pytest.raises(ValueError, match="confidence"):
        stratified_bootstrap_ci(np.ones((2, 2)), confidence=95)


# --- tables ---------------------------------------------------------------------------------------

def test_aggregate_table_rows_and_independence_from_other_variants():
    a, b = _scores(seed=12), _scores(seed=13)
    table = aggregate_table({"a": a, "b": b}, n_boot=N_BOOT)
    assert list(table.columns) == ["variant", "statistic", "estimate", "ci_low", "ci_high", "n_runs", "n_tasks"]
    assert len(table) == 8 and set(table["statistic"]) == set(AGGREGATES)
    alone = aggregate_table({"a": a}, n_boot=N_BOOT)
    pd.testing.assert_frame_equal(table[table["variant"] == "a"].reset_index(drop=True), alone)
    iqm_row = table[(table["variant"] == "b") & (table["statistic"] == "iqm")].iloc[0]
    assert iqm_row["estimate"] == pytest.approx(aggregate_iqm(b))
    with pytest.raises(ValueError, match="same n_tasks"):
        aggregate_table({"a": a, "c": a[:, :3]})


def test_other_tables():
    scores = {"base": _scores(seed=14), "new": _scores(seed=15) + 1.0}
    improvement = improvement_table(scores, "base", n_boot=N_BOOT)
    assert list(improvement["variant"]) == ["new"] and improvement["estimate"].iloc[0] > 0.5
    with pytest.raises(KeyError, match="baseline"):
        improvement_table(scores, "dqn")
    profile = profile_table(scores, np.linspace(0, 3, 7), n_boot=N_BOOT)
    assert len(profile) == 14 and profile["estimate"].between(0, 1).all()
    tasks = [f"game{i}" for i in range(8)]
    per_task = per_task_table(scores, tasks, n_boot=N_BOOT)
    np.testing.assert_allclose(per_task.loc[per_task["variant"] == "new", "estimate"], scores["new"].mean(axis=0))
    assert (per_task["ci_low"] <= per_task["estimate"]).all() and (per_task["estimate"] <= per_task["ci_high"]).all()
    curves = {"base": np.random.default_rng(16).random((3, 8, 5))}
    efficiency = sample_efficiency_table(curves, [1e4, 2e4, 3e4, 4e4, 5e4], n_boot=N_BOOT)
    assert list(efficiency["step"]) == [1e4, 2e4, 3e4, 4e4, 5e4] and (efficiency["statistic"] == "iqm").all()
    with pytest.raises(ValueError, match="checkpoints"):
        sample_efficiency_table(curves, [1, 2, 3])


def test_paired_difference_of_a_shifted_copy_is_exact_and_unpaired_is_not():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 4))
    y = x - 0.25  # every run of y is the same seed's run of x, 0.25 lower
    (point, low, high), paired = rl_stats.difference_ci(x, y, "iqm", n_boot=300)
    assert paired and point == pytest.approx(0.25) and low == pytest.approx(0.25) and high == pytest.approx(0.25)
    (point, low, high), paired = rl_stats.difference_ci(x, y[:5], "mean", n_boot=300)
    assert not paired and point == pytest.approx(x.mean() - y[:5].mean())
    assert low < point < high and high - low > 0.1  # independent resamples keep the seed-to-seed spread


def test_difference_table_rows_against_the_baseline():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(5, 3))
    table = rl_stats.difference_table({"none": base, "a": base + 1.0, "b": base - 0.5}, "none", n_boot=200)
    assert list(table["variant"]) == ["a", "b"] and set(table["baseline"]) == {"none"}
    assert table.set_index("variant")["estimate"].to_dict() == pytest.approx({"a": 1.0, "b": -0.5})
    assert table["paired"].all() and (table["n_runs"] == 5).all() and (table["n_tasks"] == 3).all()
    with pytest.raises(KeyError, match="baseline 'c'"):
        rl_stats.difference_table({"none": base}, "c")
