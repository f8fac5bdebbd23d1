"""The scoreboard on one page: a forest plot of every claim, coloured by its verdict.

Claims measure different things (a rank correlation, a difference in accuracy, an IQM of
normalised returns), so no common x-axis would be honest. Each claim gets its own row with its
own scale, centred on the claim's null value: the estimate with its 95% CI, the null line, and
the side the paper predicts shaded, so a row reads the same way whatever its units: a CI wholly
inside the shaded half is a reproduced claim.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from plasticlab.analysis.plotting import PALETTE, STYLE, save_figure  # noqa: E402

__all__ = ["VERDICT_COLOURS", "claims_forest_plot"]

VERDICT_COLOURS = {
    "reproduced": PALETTE[3],     # green
    "contradicted": PALETTE[2],   # vermilion
    "inconclusive": PALETTE[1],   # blue
    "untestable": PALETTE[5],     # orange
    "not run": PALETTE[8],        # grey
}
PREDICTED_SHADE = "#009e73"


def _half_width(row: pd.Series) -> float:
    """Half the row's x-range around its null: room for the estimate and CI, never zero."""
    null = float(row["null"])
    values = [float(row[c]) for c in ("estimate", "ci_low", "ci_high")]
    spread = max((abs(v - null) for v in values if math.isfinite(v)), default=0.0)
    return 1.25 * spread if spread > 0 else 1.0


def _draw_row(ax: plt.Axes, row: pd.Series) -> None:
    verdict = str(row["verdict"])
    colour = VERDICT_COLOURS.get(verdict, PALETTE[0])
    null = float(row["null"]) if math.isfinite(float(row["null"])) else 0.0
    half = _half_width(row)
    ax.set_xlim(null - half, null + half)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.grid(False)
    ax.spines[["left", "top", "right"]].set_visible(False)
    ax.tick_params(axis="x", labelsize=7, length=2, pad=1)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    if row.get("direction") in ("greater", "less"):
        lo, hi = (null, null + half) if row["direction"] == "greater" else (null - half, null)
        ax.axvspan(lo, hi, color=PREDICTED_SHADE, alpha=0.12, linewidth=0)
    ax.axvline(null, color="black", linewidth=0.8)
    estimate, low, high = (float(row[c]) for c in ("estimate", "ci_low", "ci_high"))
    if verdict == "not run":
        ax.set_xticks([])  # nothing measured: no scale to read
    elif math.isfinite(estimate):
        if math.isfinite(low) and math.isfinite(high):
            ax.plot([low, high], [0, 0], color=colour, linewidth=2.2, solid_capstyle="butt")
        ax.plot([estimate], [0], marker="o", markersize=5, color=colour)
    label = verdict if verdict != "untestable" else f"untestable: {row['failed_precondition']}"
    ax.text(1.02, 0.5, label, transform=ax.transAxes, va="center", ha="left", fontsize=8, color=colour)


def claims_forest_plot(frame: pd.DataFrame, path: str | os.PathLike, *, title: str | None = None,
                       provenance: dict[str, Any] | None = None) -> Path:
    """One row per scoreboard row (``study: claim_id``): estimate and CI on the claim's own scale,
    the null line, the predicted side shaded; the verdict in colour on the right."""
    rows = frame.reset_index(drop=True)
    n = max(len(rows), 1)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(n, 1, figsize=(8.5, 0.42 * n + 1.45), squeeze=False)
        for ax, (_, row) in zip(axes[:, 0], rows.iterrows()):
            _draw_row(ax, row)
            ax.text(-0.02, 0.5, f"{row['study']}: {row['claim_id']}" if row["claim_id"] else str(row["study"]),
                    transform=ax.transAxes, va="center", ha="right", fontsize=8)
        if rows.empty:
            axes[0, 0].set_axis_off()
            axes[0, 0].text(0.5, 0.5, "no claims", ha="center", va="center")
        handles = [plt.Line2D([], [], color=c, marker="o", linewidth=2, label=v) for v, c in VERDICT_COLOURS.items()]
        handles.append(plt.Rectangle((0, 0), 1, 1, color=PREDICTED_SHADE, alpha=0.15, label="predicted side"))
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, bbox_to_anchor=(0.5, 0.0))
        fig.suptitle(title or "Did the papers' claims reproduce?\n(estimate and 95% CI; each row on its own scale, "
                     "centred on the claim's null value)", fontsize=10)
        fig.subplots_adjust(left=0.36, right=0.78, top=1 - 0.75 / (0.42 * n + 1.3), bottom=0.7 / (0.42 * n + 1.3),
                            hspace=1.1)
        return save_figure(fig, path, provenance)
