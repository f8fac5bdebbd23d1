"""Aggregation over seeds (bootstrap CIs, IQM) and figures drawn from the tidy tables."""

from plasticlab.analysis.aggregate import paired_difference, summarise
from plasticlab.analysis.plotting import bars_at_x, grouped_bars, line_panels, line_with_bands, read_png_provenance, save_figure
from plasticlab.analysis.stats import bootstrap_ci, iqm, paired_bootstrap_ci

__all__ = ["bars_at_x", "grouped_bars", "line_panels", "bootstrap_ci", "iqm", "line_with_bands", "paired_bootstrap_ci", "paired_difference",
           "read_png_provenance", "save_figure", "summarise"]
