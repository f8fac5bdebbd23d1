"""Panel figures of the tabular studies: log-log lines with CI bands, one panel per setting.

Drawn from the tidy tables (``mean``, ``ci_low``, ``ci_high``) in the project's style and saved with
:func:`plasticlab.analysis.plotting.save_figure`, so each PNG carries its provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from plasticlab.analysis.plotting import line_panels


def panel_label(row: pd.Series, keys: Sequence[str]) -> str:
    def show(value: object) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)  # 15.0 (a CSV float) -> 15

    return "  ".join(f"{key}={show(row[key])}" if key in ("gamma", "atoms", "states") else str(row[key]) for key in keys)


def log_panels(table: pd.DataFrame, path: str | Path, *, panels: Sequence[str], series: str, x: str = "x",
               xlabel: str, ylabel: str, title: str, provenance: dict[str, Any] | None = None,
               series_order: Sequence[str] | None = None, columns: int = 4, logx: bool = True,
               logy: bool = True, bands: bool = True, dashed: Sequence[str] = ()) -> Path:
    """One panel per distinct combination of the ``panels`` columns (in table order), one banded
    line per ``series`` value, log axes by default: the shared ``line_panels`` with a panel label."""
    rows = table.assign(_panel=table.apply(lambda r: panel_label(r, panels), axis=1)) if len(table) else \
        table.assign(_panel=pd.Series(dtype=str))
    return line_panels(rows, None, path, panel="_panel", series=series, xlabel=xlabel, ylabel=ylabel, title=title,
                       series_order=series_order, panel_order=list(dict.fromkeys(rows["_panel"])),
                       provenance=provenance, x=x, columns=columns, logx=logx, logy=logy, bands=bands,
                       dashed=dashed)


def error_vs_samples(errors: pd.DataFrame, floors: pd.DataFrame, path: str | Path, *, panels: Sequence[str],
                     series_order: Sequence[str], title: str, provenance: dict[str, Any] | None = None,
                     reference: str = "dcfp", columns: int = 3) -> Path:
    """Rowland et al. 2024's figure: error vs samples per state N on log axes, one banded line per
    method, each method's representation floor (its error on the true model, same atoms) dotted, and
    a dashed c/√N line through ``reference``'s error at the smallest N: a method at the minimax rate
    runs parallel to it until it meets its floor."""
    import math

    import matplotlib.pyplot as plt
    import numpy as np

    from plasticlab.analysis.plotting import STYLE, colours, save_figure

    label = lambda t: t.assign(_panel=t.apply(lambda r: panel_label(r, panels), axis=1)) if len(t) else t.assign(_panel=[])  # noqa: E731
    errors, floors = label(errors), label(floors)
    names = list(dict.fromkeys(errors["_panel"]))
    palette = colours(list(series_order))
    columns = min(max(len(names), 1), columns)
    n_rows = math.ceil(max(len(names), 1) / columns)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(n_rows, columns, figsize=(4.4 * columns + 1.8, 3.5 * n_rows), squeeze=False)
        for ax, name in zip(axes.flat, names):
            for method in series_order:
                line = errors[(errors["_panel"] == name) & (errors["method"] == method)].sort_values("x")
                if line.empty:
                    continue
                ax.plot(line["x"], line["mean"], marker="o", markersize=3, color=palette[method], label=method,
                        linestyle="--" if method == reference else "-", zorder=3 if method == reference else 2)
                ax.fill_between(line["x"], line["ci_low"], line["ci_high"], color=palette[method], alpha=0.18, linewidth=0)
                floor = floors[(floors["_panel"] == name) & (floors["method"] == method)].sort_values("x")
                if len(floor):
                    ax.plot(floor["x"], floor["mean"], linestyle=":", linewidth=1.6, color=palette[method],
                            label=f"{method}: N = ∞ (true model)")
                if method == reference:
                    n = line["x"].to_numpy(dtype=float)
                    ax.plot(n, line["mean"].iloc[0] * np.sqrt(n[0] / n), color="#999999", linewidth=1.0,
                            linestyle=(0, (6, 3)), label="∝ 1/√N", zorder=1)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("samples per state N")
        for ax in list(axes.flat)[len(names):]:
            ax.set_visible(False)
        for row in axes:
            row[0].set_ylabel("max-state W1 to truth")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
        fig.suptitle(title)
        fig.tight_layout()
        return save_figure(fig, path, provenance)
