"""Aggregation over seeds (bootstrap CIs, IQM) and figures drawn from the tidy tables.

The figure functions load matplotlib on first use (PEP 562 ``__getattr__``): the workflow parses
the study registry at every start and aggregation jobs draw nothing, so neither should pay for
importing pyplot.
"""

from importlib import import_module
from typing import Any

from plasticlab.analysis.aggregate import paired_difference, summarise
from plasticlab.analysis.stats import bootstrap_ci, iqm, paired_bootstrap_ci

_PLOTTING = ("bars_at_x", "grouped_bars", "line_panels", "line_with_bands", "read_png_provenance", "save_figure")

__all__ = ["bars_at_x", "grouped_bars", "line_panels", "bootstrap_ci", "iqm", "line_with_bands", "paired_bootstrap_ci", "paired_difference",
           "read_png_provenance", "save_figure", "summarise"]


def __getattr__(name: str) -> Any:
    if name in _PLOTTING:
        return getattr(import_module("plasticlab.analysis.plotting"), name)
    raise AttributeError(f"module 'plasticlab.analysis' has no attribute {name!r}")
