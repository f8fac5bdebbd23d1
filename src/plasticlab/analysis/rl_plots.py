"""rliable-style figures for multi-task RL results, drawn from the tidy tables of ``rl_stats``.

Computation stays in :mod:`plasticlab.analysis.rl_stats`; these functions only draw a table
(which a study also writes to disk, so every number in a figure can be checked in a file).
A variant keeps its colour across figures: colours are keyed by the sorted variant names of the
table (plus the baseline of a probability-of-improvement table), or by an explicit ``palette``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from plasticlab.analysis.plotting import STYLE, colours, save_figure  # noqa: E402

__all__ = ["STATISTIC_LABELS", "improvement_plot", "interval_estimates_plot", "per_task_bars",
           "performance_profile_plot", "sample_efficiency_plot"]

STATISTIC_LABELS = {"median": "Median", "iqm": "IQM", "mean": "Mean", "optimality_gap": "Optimality gap"}


def _checked(table: pd.DataFrame, columns: Sequence[str], figure: str) -> pd.DataFrame:
    """Fail with the missing column names rather than a KeyError deep inside matplotlib."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{figure}: table lacks column(s) {missing}; have {list(table.columns)}")
    if table.empty:
        raise ValueError(f"{figure}: table has no rows")
    values = table[["estimate", "ci_low", "ci_high"]].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError(f"{figure}: estimate/ci_low/ci_high contain NaN or inf")
    return table


def _order(table: pd.DataFrame, variants: Sequence[str] | None) -> list[str]:
    present = set(table["variant"])
    chosen = [v for v in variants if v in present] if variants is not None else sorted(present, key=str)
    if not chosen:
        raise ValueError(f"none of the variants {list(variants or [])} is in the table (have {sorted(present)})")
    return chosen


def _palette(table: pd.DataFrame, palette: Mapping[str, str] | None, extra: Sequence[str] = ()) -> Mapping[str, str]:
    return palette if palette is not None else colours(sorted(set(table["variant"]) | set(extra), key=str))


def interval_estimates_plot(table: pd.DataFrame, path: str | os.PathLike, *, statistics: Sequence[str] | None = None,
                            variants: Sequence[str] | None = None, xlabel: str = "Human-normalised score",
                            title: str | None = None, palette: Mapping[str, str] | None = None,
                            provenance: dict[str, Any] | None = None) -> Path:
    """One panel per aggregate statistic, one horizontal CI bar per variant with a tick at the
    point estimate (rliable's interval-estimate figure), from :func:`rl_stats.aggregate_table`."""
    table = _checked(table, ["variant", "statistic", "estimate", "ci_low", "ci_high"], "interval_estimates_plot")
    stats = list(statistics) if statistics is not None else list(dict.fromkeys(table["statistic"]))
    absent = [s for s in stats if s not in set(table["statistic"])]
    if absent:
        raise ValueError(f"interval_estimates_plot: statistic(s) {absent} not in the table")
    order, colour = _order(table, variants), _palette(table, palette)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(stats), figsize=(3.2 * len(stats) + 1.0, 0.45 * len(order) + 1.4),
                                 squeeze=False)
        for ax, stat in zip(axes[0], stats):
            rows = table[table["statistic"] == stat].drop_duplicates("variant").set_index("variant")
            for y, variant in enumerate(order):
                if variant not in rows.index:
                    continue
                row = rows.loc[variant]
                ax.barh(y, row["ci_high"] - row["ci_low"], left=row["ci_low"], height=0.6,
                        color=colour[variant], alpha=0.75)
                ax.vlines(row["estimate"], y - 0.3, y + 0.3, color="black", linewidth=1.5)
            ax.set_yticks(range(len(order)), order if ax is axes[0][0] else [""] * len(order))
            ax.set_title(STATISTIC_LABELS.get(stat, stat))
            ax.set_ylim(len(order) - 0.5, -0.5)  # first variant on top
            ax.grid(axis="y", visible=False)
        fig.supxlabel(xlabel)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return save_figure(fig, path, provenance)


def performance_profile_plot(table: pd.DataFrame, path: str | os.PathLike, *, variants: Sequence[str] | None = None,
                             xlabel: str = r"Human-normalised score ($\tau$)",
                             ylabel: str = r"Fraction of runs with score $> \tau$", title: str | None = None,
                             palette: Mapping[str, str] | None = None,
                             provenance: dict[str, Any] | None = None) -> Path:
    """Fraction above tau per variant with its CI band, from :func:`rl_stats.profile_table`."""
    table = _checked(table, ["variant", "tau", "estimate", "ci_low", "ci_high"], "performance_profile_plot")
    order, colour = _order(table, variants), _palette(table, palette)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
        for variant in order:
            rows = table[table["variant"] == variant].sort_values("tau")
            ax.plot(rows["tau"], rows["estimate"], label=variant, color=colour[variant], linewidth=2)
            ax.fill_between(rows["tau"], rows["ci_low"], rows["ci_high"], color=colour[variant], alpha=0.2, linewidth=0)
        ax.axhline(0.5, linestyle="--", color="black", alpha=0.4, linewidth=1)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        return save_figure(fig, path, provenance)


def improvement_plot(table: pd.DataFrame, path: str | os.PathLike, *, variants: Sequence[str] | None = None,
                     title: str | None = None, palette: Mapping[str, str] | None = None,
                     provenance: dict[str, Any] | None = None) -> Path:
    """P(variant > baseline) with CI, one row per variant, a dashed line at 0.5 (no difference),
    from :func:`rl_stats.improvement_table`."""
    table = _checked(table, ["variant", "baseline", "estimate", "ci_low", "ci_high"], "improvement_plot")
    baselines = sorted(set(table["baseline"]), key=str)
    if len(baselines) != 1:
        raise ValueError(f"improvement_plot draws pairs against one baseline, got {baselines}")
    order, colour = _order(table, variants), _palette(table, palette, extra=baselines)
    rows = table.drop_duplicates("variant").set_index("variant").loc[order]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.5, 0.5 * len(order) + 1.5))
        y = np.arange(len(order))
        ax.barh(y, rows["ci_high"] - rows["ci_low"], left=rows["ci_low"], height=0.6,
                color=[colour[v] for v in order], alpha=0.75)
        ax.vlines(rows["estimate"], y - 0.3, y + 0.3, color="black", linewidth=1.5)
        ax.axvline(0.5, linestyle="--", color="black", alpha=0.5, linewidth=1)
        ax.set_yticks(y, order)
        ax.set_ylim(len(order) - 0.5, -0.5)  # first variant on top
        ax.set_xlim(0.0, 1.0)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"P(variant > {baselines[0]})")
        if title:
            ax.set_title(title)
        return save_figure(fig, path, provenance)


def sample_efficiency_plot(table: pd.DataFrame, path: str | os.PathLike, *, variants: Sequence[str] | None = None,
                           xlabel: str = "Environment steps", ylabel: str | None = None, title: str | None = None,
                           palette: Mapping[str, str] | None = None,
                           provenance: dict[str, Any] | None = None) -> Path:
    """Aggregate score vs environment steps with CI bands, from :func:`rl_stats.sample_efficiency_table`."""
    table = _checked(table, ["variant", "step", "estimate", "ci_low", "ci_high"], "sample_efficiency_plot")
    order, colour = _order(table, variants), _palette(table, palette)
    statistic = str(table["statistic"].iloc[0]) if "statistic" in table.columns else "score"
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
        for variant in order:
            rows = table[table["variant"] == variant].sort_values("step")
            ax.plot(rows["step"], rows["estimate"], marker="o", markersize=3, label=variant, color=colour[variant])
            ax.fill_between(rows["step"], rows["ci_low"], rows["ci_high"], color=colour[variant], alpha=0.2, linewidth=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel or f"{STATISTIC_LABELS.get(statistic, statistic)} normalised score")
        if title:
            ax.set_title(title)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        return save_figure(fig, path, provenance)


def per_task_bars(table: pd.DataFrame, path: str | os.PathLike, *, variants: Sequence[str] | None = None,
                  tasks: Sequence[str] | None = None, ylabel: str = "Human-normalised score", title: str | None = None,
                  palette: Mapping[str, str] | None = None, provenance: dict[str, Any] | None = None) -> Path:
    """Mean score per task, one bar per variant with CI whiskers over runs, from
    :func:`rl_stats.per_task_table` (shows which games an aggregate comes from)."""
    table = _checked(table, ["variant", "task", "estimate", "ci_low", "ci_high"], "per_task_bars")
    order, colour = _order(table, variants), _palette(table, palette)
    task_order = list(tasks) if tasks is not None else list(dict.fromkeys(table["task"]))
    width = 0.8 / len(order)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(max(6.0, 0.12 * len(task_order) * (len(order) + 1) + 2.0), 4.5))
        for i, variant in enumerate(order):
            bars = table[table["variant"] == variant].drop_duplicates("task").set_index("task").reindex(task_order)
            positions = np.arange(len(task_order)) + (i - (len(order) - 1) / 2) * width
            errors = [bars["estimate"] - bars["ci_low"], bars["ci_high"] - bars["estimate"]]
            ax.bar(positions, bars["estimate"], width=width, yerr=errors, capsize=1.5, label=variant,
                   color=colour[variant], ecolor="0.4")
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(task_order)), task_order, rotation=60, ha="right")
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        return save_figure(fig, path, provenance)
