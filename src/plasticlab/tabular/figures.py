"""Panel figures of the tabular studies: log-log lines with CI bands, one panel per setting.

Drawn from the tidy tables (``mean``, ``ci_low``, ``ci_high``) in the project's style and saved with
:func:`plasticlab.analysis.plotting.save_figure`, so each PNG carries its provenance.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from plasticlab.analysis.plotting import STYLE, colours, save_figure  # noqa: E402


def panel_label(row: pd.Series, keys: Sequence[str]) -> str:
    def show(value: object) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)  # 15.0 (a CSV float) -> 15

    return "  ".join(f"{key}={show(row[key])}" if key in ("gamma", "atoms", "states") else str(row[key]) for key in keys)


def log_panels(table: pd.DataFrame, path: str | Path, *, panels: Sequence[str], series: str, x: str = "x",
               xlabel: str, ylabel: str, title: str, provenance: dict[str, Any] | None = None,
               series_order: Sequence[str] | None = None, columns: int = 4, logx: bool = True,
               logy: bool = True, bands: bool = True, dashed: Sequence[str] = ()) -> Path:
    """One panel per distinct value of ``panels`` columns, one banded line per ``series`` value
    (``dashed`` series on top, for methods that coincide with another by design)."""
    rows = table.assign(_panel=table.apply(lambda r: panel_label(r, panels), axis=1)) if len(table) else table
    names = list(dict.fromkeys(rows["_panel"])) if len(rows) else []
    order = list(series_order) if series_order is not None else sorted(set(rows[series])) if len(rows) else []
    palette = colours(order)
    columns = min(max(len(names), 1), columns)
    n_rows = math.ceil(max(len(names), 1) / columns)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(n_rows, columns, figsize=(3.8 * columns + 1.6, 3.1 * n_rows), squeeze=False)
        for ax, name in zip(axes.flat, names):
            for item in order:
                line = rows[(rows["_panel"] == name) & (rows[series] == item)].sort_values(x)
                if line.empty:
                    continue
                ax.plot(line[x], line["mean"], marker="o", markersize=2.5, label=item, color=palette[item],
                        linestyle="--" if item in dashed else "-", zorder=3 if item in dashed else 2)
                if bands:
                    ax.fill_between(line[x], line["ci_low"], line["ci_high"], alpha=0.18, color=palette[item], linewidth=0)
            ax.set_title(name, fontsize=10)
            ax.set_xscale("log" if logx else "linear")
            ax.set_yscale("log" if logy else "linear")
            ax.set_xlabel(xlabel)
        for ax in list(axes.flat)[len(names):]:
            ax.set_visible(False)
        for row in axes:
            row[0].set_ylabel(ylabel)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.suptitle(title, y=1.0)
        fig.tight_layout()
        return save_figure(fig, path, provenance)
