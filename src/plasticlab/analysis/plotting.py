"""Figures in a paper style, drawn from tidy tables (never from raw runs).

Each variant keeps its colour across all figures of a study; every PNG carries the provenance
of the table it was drawn from in its text metadata.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from plasticlab.runtime.atomic import atomic_path  # noqa: E402

PROVENANCE_KEY = "plasticlab:provenance"
PALETTE = ["#1b1b1b", "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f3c8d", "#999999", "#f0e442"]
STYLE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 11,
    "axes.titlesize": 12,
    "legend.frameon": False,
    "axes.axisbelow": True,
    "figure.dpi": 120,
    "savefig.dpi": 150,
}


def colours(variants: Sequence[str]) -> dict[str, str]:
    """Colour per name, by position in ``variants`` (cycling through :data:`PALETTE`)."""
    return {variant: PALETTE[i % len(PALETTE)] for i, variant in enumerate(variants)}


def variant_colours(table: pd.DataFrame) -> dict[str, str]:
    """Colour per variant keyed by the sorted variant names of the *whole* table.

    Not by the variants one figure shows: a figure of a subset (e.g. the gap to a baseline) or
    of a metric some variant lacks must not shift the colours of the others.
    """
    return colours(sorted(set(table["variant"]), key=str))


def _variants(table: pd.DataFrame, metric: str, variants: Sequence[str] | None) -> list[str]:
    """Variants to draw for ``metric``: the given order (those present) or sorted names."""
    present = set(table.loc[table["metric"] == metric, "variant"])
    order = list(variants) if variants is not None else sorted(present)
    return [v for v in order if v in present]


def save_figure(fig: Figure, path: str | os.PathLike, provenance: dict[str, Any] | None = None) -> Path:
    """Write a PNG atomically with provenance in its text metadata, then close the figure.

    Atomic (temporary file beside ``path``, then ``os.replace``) so a killed job or a parallel
    reader never sees a truncated figure; the provenance says which table and config drew it.
    """
    path = Path(path)
    metadata = {} if provenance is None else {PROVENANCE_KEY: json.dumps(provenance, sort_keys=True, default=str)}
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", bbox_inches="tight", metadata=metadata)
    finally:
        plt.close(fig)
    return path


def read_png_provenance(path: str | os.PathLike) -> dict[str, Any]:
    """Provenance stored by :func:`save_figure` (``{}`` if the PNG has none)."""
    with Image.open(path) as image:
        raw = image.text.get(PROVENANCE_KEY)
    return json.loads(raw) if raw else {}


def line_with_bands(table: pd.DataFrame, metric: str, path: str | os.PathLike, *, xlabel: str, ylabel: str,
                    title: str | None = None, variants: Sequence[str] | None = None,
                    provenance: dict[str, Any] | None = None) -> Path:
    """Mean per variant vs x with its shaded [ci_low, ci_high] band, from a :func:`summarise` table.

    ``variants`` selects and orders the lines (default: all, sorted); colours stay those of
    :func:`variant_colours` so the same variant looks the same in every figure of a study.
    """
    order = _variants(table, metric, variants)
    palette = variant_colours(table)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
        for variant in order:
            rows = table[(table["metric"] == metric) & (table["variant"] == variant)].sort_values("x")
            ax.plot(rows["x"], rows["mean"], marker="o", markersize=3, label=variant, color=palette[variant])
            ax.fill_between(rows["x"], rows["ci_low"], rows["ci_high"], alpha=0.2, color=palette[variant], linewidth=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        if order:
            ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        return save_figure(fig, path, provenance)


def bars_at_x(table: pd.DataFrame, metric: str, path: str | os.PathLike, *, x: float | None = None, ylabel: str,
              title: str | None = None, variants: Sequence[str] | None = None,
              provenance: dict[str, Any] | None = None) -> Path:
    """One bar per variant at ``x`` (default: the last x of ``metric``) with CI error bars.

    Variants without a row at that x are left out rather than drawn as a zero-height bar.
    """
    rows = table[table["metric"] == metric]
    if x is None and len(rows):
        x = rows["x"].max()
    rows = rows[rows["x"] == x].drop_duplicates("variant").set_index("variant")
    order = [v for v in _variants(table, metric, variants) if v in rows.index]
    palette = variant_colours(table)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(order) + 1.5), 4.0))
        shown = rows.loc[order]
        means = shown["mean"].to_numpy(dtype=float)
        errors = [means - shown["ci_low"].to_numpy(dtype=float), shown["ci_high"].to_numpy(dtype=float) - means]
        ax.bar(range(len(order)), means, yerr=errors, capsize=4, color=[palette[v] for v in order],
               ecolor="#666666")  # grey whiskers stay visible on dark and light bars
        ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
        ax.set_ylabel(ylabel)
        if order:
            # Zoom on the CIs (differences between variants are often a few points of accuracy),
            # but keep 0 in view when the bars are close to it.
            low, high = float(shown["ci_low"].min()), float(shown["ci_high"].max())
            margin = max(0.05 * (high - low), 1e-3)
            ax.set_ylim(max(low - 4 * margin, 0.0) if low >= 0 else low - 4 * margin, high + margin)
        ax.set_title(title or (f"at x = {x}" if x is not None else metric))
        return save_figure(fig, path, provenance)


def line_panels(table: pd.DataFrame, metric: str | None, path: str | os.PathLike, *, panel: str, series: str,
                xlabel: str, ylabel: str, title: str | None = None, series_order: Sequence[str] | None = None,
                panel_order: Sequence[str] | None = None, provenance: dict[str, Any] | None = None, x: str = "x",
                columns: int = 4, logx: bool = False, logy: bool = False, bands: bool = True,
                dashed: Sequence[str] = ()) -> Path:
    """One panel per value of ``panel`` (e.g. stream), one banded line per ``series`` value.

    ``metric`` selects rows by the ``metric`` column (None: the table as given); ``dashed`` series
    are drawn dashed and on top (methods that coincide with another by design).
    """
    rows = table[table["metric"] == metric] if metric is not None else table
    panels = [p for p in (panel_order or sorted(set(rows[panel])))] if len(rows) else []
    order = list(series_order) if series_order is not None else sorted(set(rows[series])) if len(rows) else []
    palette = colours(order)
    columns = min(max(len(panels), 1), columns)  # wrap into rows of at most `columns` panels
    n_rows = math.ceil(max(len(panels), 1) / columns)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(n_rows, columns, figsize=(4.2 * columns + 1.5, 3.4 * n_rows), squeeze=False)
        for ax, name in zip(axes.flat, panels):
            for item in order:
                line = rows[(rows[panel] == name) & (rows[series] == item)].sort_values(x)
                if line.empty:
                    continue
                ax.plot(line[x], line["mean"], marker="o", markersize=2.5, label=item, color=palette[item],
                        linestyle="--" if item in dashed else "-", zorder=3 if item in dashed else 2)
                if bands:
                    ax.fill_between(line[x], line["ci_low"], line["ci_high"], alpha=0.18, color=palette[item],
                                    linewidth=0)
            ax.set_title(name)
            ax.set_xscale("log" if logx else "linear")
            ax.set_yscale("log" if logy else "linear")
            ax.set_xlabel(xlabel)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        for row in axes:
            row[0].set_ylabel(ylabel)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5))
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return save_figure(fig, path, provenance)


def grouped_bars(table: pd.DataFrame, metric: str, path: str | os.PathLike, *, group: str, series: str, ylabel: str,
                 title: str | None = None, series_order: Sequence[str] | None = None,
                 group_order: Sequence[str] | None = None, provenance: dict[str, Any] | None = None) -> Path:
    """Bars with CI error bars: one cluster per ``group`` value, one bar per ``series`` value."""
    rows = table[table["metric"] == metric]
    groups = list(group_order or sorted(set(rows[group])))
    order = list(series_order) if series_order is not None else sorted(set(rows[series]))
    palette = colours(order)
    width = 0.8 / max(len(order), 1)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.4 * len(order) * len(groups) * width + 3.5, 4.0))
        for i, item in enumerate(order):
            bars = rows[rows[series] == item].set_index(group).reindex(groups)
            positions = [g + (i - (len(order) - 1) / 2) * width for g in range(len(groups))]
            errors = [bars["mean"] - bars["ci_low"], bars["ci_high"] - bars["mean"]]
            ax.bar(positions, bars["mean"], width=width, yerr=errors, capsize=2, label=item, color=palette[item])
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel(ylabel)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        if title:
            ax.set_title(title)
        return save_figure(fig, path, provenance)


def correlation_bars(table: pd.DataFrame, path: str | os.PathLike, *, title: str | None = None,
                     provenance: dict[str, Any] | None = None) -> Path:
    """Horizontal bars of correlation coefficients (``mean``) with CI whiskers: one group per
    metric, one bar per ``variant`` (e.g. "all" pooled, then each variant)."""
    metrics = list(dict.fromkeys(table.sort_values("metric")["metric"]))
    variants = ["all", *sorted(set(table["variant"]) - {"all"})] if "all" in set(table["variant"]) else sorted(set(table["variant"]))
    palette = colours(variants)
    height = 0.8 / max(len(variants), 1)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(metrics) * len(variants) + 1.5))
        for i, variant in enumerate(variants):
            rows = table[table["variant"] == variant].set_index("metric").reindex(metrics)
            positions = [m + (i - (len(variants) - 1) / 2) * height for m in range(len(metrics))]
            errors = [rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]]
            ax.barh(positions, rows["mean"], height=height, xerr=errors, capsize=2, color=palette[variant],
                    ecolor="0.4", label=variant)
        ax.set_yticks(range(len(metrics)), [m.removeprefix("spearman_vs_") for m in metrics])
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xlim(-1.05, 1.05)
        ax.set_xlabel("Spearman ρ")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        if title:
            ax.set_title(title)
        return save_figure(fig, path, provenance)
