"""Tidy tables from long-format run metrics: one row per variant × x × metric.

Columns: ``variant, x, metric, mean, ci_low, ci_high, n_seeds`` (95% percentile bootstrap over
seeds). Groups with the same number of seeds are bootstrapped in one vectorised call.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from plasticlab.analysis.stats import bootstrap_ci

COLUMNS = ["variant", "x", "metric", "mean", "ci_low", "ci_high", "n_seeds"]


def _summarise_groups(groups: list[tuple[tuple, np.ndarray]], keys: Sequence[str], **bootstrap_kwargs: Any) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    by_size: dict[int, list[tuple[tuple, np.ndarray]]] = {}
    for key, values in groups:
        by_size.setdefault(len(values), []).append((key, values))
    for size, members in by_size.items():
        matrix = np.stack([values for _, values in members])  # (groups, seeds)
        low, high = bootstrap_ci(matrix, **bootstrap_kwargs)
        for (key, values), lo, hi in zip(members, np.atleast_1d(low), np.atleast_1d(high)):
            rows.append({**dict(zip(keys, key)), "mean": float(values.mean()), "ci_low": float(lo),
                         "ci_high": float(hi), "n_seeds": size})
    return pd.DataFrame(rows, columns=[*keys, "mean", "ci_low", "ci_high", "n_seeds"])


def summarise(runs: pd.DataFrame, x: str, group: Sequence[str] = ("variant", "metric"), **bootstrap_kwargs: Any) -> pd.DataFrame:
    """Mean and bootstrap CI over seeds of ``value`` for every group × x."""
    keys = [*group, x]
    ordered = runs.sort_values([*keys, "seed"])
    groups = [(key, frame["value"].to_numpy(dtype=float)) for key, frame in ordered.groupby(keys, sort=True)]
    table = _summarise_groups(groups, keys, **bootstrap_kwargs).rename(columns={x: "x"})
    return table[COLUMNS].sort_values(["variant", "metric", "x"], ignore_index=True)


def paired_difference(runs: pd.DataFrame, x: str, metric: str, baseline: str, new_metric: str, **bootstrap_kwargs: Any) -> pd.DataFrame:
    """Per-seed (variant − baseline) of ``metric`` at each x, summarised like :func:`summarise`.

    Seeds present in only one of the two are dropped: an unpaired difference would mix the
    seed-to-seed spread into the effect.
    """
    selected = runs[runs["metric"] == metric]
    wide = selected.pivot_table(index=[x, "seed"], columns="variant", values="value", aggfunc="first")
    if baseline not in wide.columns:
        return pd.DataFrame(columns=COLUMNS)
    differences = []
    for variant in wide.columns:
        if variant == baseline:
            continue
        diff = (wide[variant] - wide[baseline]).dropna().rename("value").reset_index()
        differences.append(diff.assign(variant=variant, metric=new_metric))
    if not differences:
        return pd.DataFrame(columns=COLUMNS)
    return summarise(pd.concat(differences, ignore_index=True), x=x, **bootstrap_kwargs)
