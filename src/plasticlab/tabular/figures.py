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
