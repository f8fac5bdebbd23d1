"""summarise and paired_difference against hand-built frames and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plasticlab.analysis import bootstrap_ci, paired_difference, summarise

COLUMNS = ["variant", "x", "metric", "mean", "ci_low", "ci_high", "n_seeds"]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["variant", "seed", "chunk", "metric", "value"])


def _runs() -> pd.DataFrame:
    rows = [
        # warm, acc: 3 seeds at chunk 1 and 2
        ("warm", 0, 1, "acc", 0.50), ("warm", 1, 1, "acc", 0.60), ("warm", 2, 1, "acc", 0.70),
        ("warm", 0, 2, "acc", 0.55), ("warm", 1, 2, "acc", 0.65), ("warm", 2, 2, "acc", 0.90),
        # fresh, acc: seeds 0, 1, 3 (3 is unpaired with warm); seed 2 missing
        ("fresh", 0, 1, "acc", 0.58), ("fresh", 1, 1, "acc", 0.61), ("fresh", 3, 1, "acc", 0.95),
        ("fresh", 0, 2, "acc", 0.75), ("fresh", 1, 2, "acc", 0.70),
        # a second metric with one seed, a constant third variant
        ("warm", 0, 1, "loss", 2.0),
        ("noisy", 0, 1, "acc", 0.4), ("noisy", 1, 1, "acc", 0.4),
    ]
    return _frame(rows).sample(frac=1.0, random_state=0)  # input order must not matter


def test_summarise_gives_exact_rows_means_and_counts():
    table = summarise(_runs(), x="chunk", n_boot=2000)
    assert list(table.columns) == COLUMNS
    assert list(zip(table.variant, table.metric, table.x)) == [
        ("fresh", "acc", 1), ("fresh", "acc", 2), ("noisy", "acc", 1), ("warm", "acc", 1), ("warm", "acc", 2),
        ("warm", "loss", 1),
    ]
    np.testing.assert_allclose(table["mean"], [(0.58 + 0.61 + 0.95) / 3, 0.725, 0.4, 0.6, 0.7, 2.0])
    assert table["n_seeds"].tolist() == [3, 2, 2, 3, 3, 1]
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    single = table.iloc[-1]
    assert single.ci_low == single.ci_high == 2.0
    constant = table.iloc[2]
    assert constant.ci_low == pytest.approx(0.4) and constant.ci_high == pytest.approx(0.4)


def test_summarise_ci_equals_bootstrap_of_that_group_alone():
    table = summarise(_runs(), x="chunk", n_boot=3000, seed=11, statistic="median")
    row = table[(table.variant == "warm") & (table.x == 2)].iloc[0]
    low, high = bootstrap_ci(np.array([0.55, 0.65, 0.90]), n_boot=3000, seed=11, statistic="median")
    assert (row.ci_low, row.ci_high) == (low, high)
    assert row.ci_low < row.ci_high


def test_summarise_keeps_extra_group_columns():
    runs = _runs().assign(stream=lambda f: np.where(f["seed"] % 2 == 0, "a", "b"))
    table = summarise(runs, x="chunk", group=("variant", "stream", "metric"), n_boot=200)
    assert list(table.columns) == ["variant", "x", "metric", "stream", "mean", "ci_low", "ci_high", "n_seeds"]
    warm_a = table[(table.variant == "warm") & (table.stream == "a") & (table.x == 1) & (table.metric == "acc")]
    assert warm_a["n_seeds"].tolist() == [2] and warm_a["mean"].iloc[0] == pytest.approx(0.6)


def test_summarise_rejects_repeated_seeds_and_nan():
    runs = _runs()
    with pytest.raises(ValueError, match="same seed"):
        summarise(pd.concat([runs, runs.iloc[:1]]), x="chunk")
    with pytest.raises(ValueError, match="NaN"):
        summarise(runs.assign(value=runs["value"].where(runs["seed"] != 1)), x="chunk")


def test_summarise_of_nothing_is_an_empty_tidy_table():
    table = summarise(_runs().iloc[:0], x="chunk")
    assert table.empty and list(table.columns) == COLUMNS


def test_paired_difference_matches_hand_computation_and_drops_unpaired_seeds():
    gaps = paired_difference(_runs(), x="chunk", metric="acc", baseline="warm", new_metric="gap", n_boot=2000)
    assert list(gaps.columns) == COLUMNS
    assert list(zip(gaps.variant, gaps.x)) == [("fresh", 1), ("fresh", 2), ("noisy", 1)]
    assert set(gaps["metric"]) == {"gap"}
    # fresh − warm on seeds 0 and 1 only (fresh seed 3 and warm seed 2 have no partner)
    fresh1 = [0.58 - 0.50, 0.61 - 0.60]
    fresh2 = [0.75 - 0.55, 0.70 - 0.65]
    noisy1 = [0.4 - 0.50, 0.4 - 0.60]
    np.testing.assert_allclose(gaps["mean"], [np.mean(fresh1), np.mean(fresh2), np.mean(noisy1)])
    assert gaps["n_seeds"].tolist() == [2, 2, 2]
    low, high = bootstrap_ci(np.array(fresh2), n_boot=2000)
    np.testing.assert_allclose([gaps.ci_low.iloc[1], gaps.ci_high.iloc[1]], [low, high])
    assert min(fresh2) <= gaps.ci_low.iloc[1] < gaps.ci_high.iloc[1] <= max(fresh2)


def test_paired_difference_without_the_baseline_is_empty():
    gaps = paired_difference(_runs(), x="chunk", metric="acc", baseline="absent", new_metric="gap")
    assert gaps.empty and list(gaps.columns) == COLUMNS
