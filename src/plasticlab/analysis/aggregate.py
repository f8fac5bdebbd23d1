"""Tidy tables from long-format run metrics: one row per variant × x × metric.

Input: one row per (variant, seed, metric, x) with a ``value``. Output columns:
``variant, x, metric, mean, ci_low, ci_high, n_seeds`` (percentile bootstrap over seeds; extra
``group`` columns, if any, follow ``metric``). Figures are drawn from these tables only, so the
numbers in a plot can always be checked against a file.

Groups are packed into ``(groups, n_seeds)`` matrices, one per distinct seed count, and each
matrix is bootstrapped in a single vectorised call.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from plasticlab.analysis.stats import bootstrap_ci

__all__ = ["COLUMNS", "paired_difference", "summarise"]

COLUMNS = ["variant", "x", "metric", "mean", "ci_low", "ci_high", "n_seeds"]
_STATS = ["mean", "ci_low", "ci_high", "n_seeds"]


def _require(runs: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise KeyError(f"runs lack column(s) {missing}; have {list(runs.columns)}")


def _output_columns(group: Sequence[str]) -> list[str]:
    head = [c for c in ("variant", "x", "metric") if c == "x" or c in group]
    return [*head, *[c for c in group if c not in head], *_STATS]


def _example(frame: pd.DataFrame, mask: np.ndarray | pd.Series, keys: list[str]) -> str:
    return frame.loc[np.asarray(mask), keys].drop_duplicates().head(3).to_dict("records").__repr__()


def summarise(runs: pd.DataFrame, x: str, group: Sequence[str] = ("variant", "metric"),
              **bootstrap_kwargs: Any) -> pd.DataFrame:
    """Mean and bootstrap CI over seeds of ``value`` for every ``group`` × ``x``.

    Each seed must contribute one value per group and x: a repeated seed would be counted as
    independent evidence and narrow the CI, so it is an error rather than silently pooled. NaN
    values are an error too (a diverged run must be handled explicitly, not dropped quietly).
    ``bootstrap_kwargs`` go to :func:`~plasticlab.analysis.stats.bootstrap_ci`.
    """
    group = list(group)
    keys = [*group, x]
    _require(runs, [*keys, "seed", "value"])
    columns = _output_columns(group)
    data = runs[[*keys, "seed"]].copy()
    data["value"] = pd.to_numeric(runs["value"]).astype(float)
    if data.empty:
        return pd.DataFrame(columns=columns)
    if data[keys].isna().any(axis=None):
        raise ValueError(f"summarise: missing values in the key columns {keys}")
    duplicated = data.duplicated([*keys, "seed"], keep=False)
    if duplicated.any():
        raise ValueError(f"summarise: several values for the same seed in group(s) {_example(data, duplicated, keys)}")
    nan = data["value"].isna()
    if nan.any():
        raise ValueError(f"summarise: NaN values in group(s) {_example(data, nan, keys)}")

    # Sort so each group's values are contiguous (in seed order), then gather them into matrices.
    data = data.sort_values([*keys, "seed"], kind="stable", ignore_index=True)
    codes = data.groupby(keys, sort=False).ngroup().to_numpy()  # contiguous runs after the sort
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(data)])
    values = data["value"].to_numpy()
    mean = np.empty(len(starts))
    low = np.empty(len(starts))
    high = np.empty(len(starts))
    for size in np.unique(sizes):  # one bootstrap call per distinct seed count
        members = np.flatnonzero(sizes == size)
        matrix = values[starts[members, None] + np.arange(size)]  # (groups, seeds)
        mean[members] = matrix.mean(axis=-1)
        low[members], high[members] = bootstrap_ci(matrix, **bootstrap_kwargs)

    table = data.loc[starts, keys].reset_index(drop=True).rename(columns={x: "x"})
    table["mean"], table["ci_low"], table["ci_high"], table["n_seeds"] = mean, low, high, sizes.astype(int)
    order = [*group, "x"]
    return table.sort_values(order, kind="stable", ignore_index=True)[columns]


def paired_difference(runs: pd.DataFrame, x: str, metric: str, baseline: str, new_metric: str,
                      **bootstrap_kwargs: Any) -> pd.DataFrame:
    """Per-seed (variant − baseline) of ``metric`` at each x, summarised like :func:`summarise`.

    Seeds present in only one of the two are dropped: an unpaired difference would mix the
    seed-to-seed spread into the effect. The result has ``metric == new_metric`` and one row per
    non-baseline variant × x; it is empty (with the tidy columns) if ``baseline`` has no rows.
    """
    _require(runs, ["variant", "seed", "metric", "value", x])
    selected = runs.loc[runs["metric"] == metric, ["variant", x, "seed", "value"]]
    duplicated = selected.duplicated(["variant", x, "seed"], keep=False)
    if duplicated.any():
        raise ValueError(f"paired_difference: several values for the same seed in "
                         f"{_example(selected, duplicated, ['variant', x, 'seed'])}")
    is_base = selected["variant"] == baseline
    base = selected.loc[is_base, [x, "seed", "value"]].rename(columns={"value": "baseline_value"})
    paired = selected.loc[~is_base].merge(base, on=[x, "seed"], how="inner", validate="many_to_one")
    if paired.empty:
        return pd.DataFrame(columns=COLUMNS)
    differences = paired.assign(value=paired["value"] - paired["baseline_value"], metric=new_metric)
    return summarise(differences, x=x, **bootstrap_kwargs)
