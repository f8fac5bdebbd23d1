"""Data sets by name: ``{name: <synthetic> | diabetes | digits | csv, <parameters>}``; the synthetic sets are
the reference code's (sine1d, mog1d, sine2d) and our multi-mode ones (periodic1d, bumps1d, periodic2d)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from plasticlab.design.data.base import DesignData, make_data, standardise
from plasticlab.design.data.embedded import diabetes, digits
from plasticlab.design.data.multimodal import FUNCTIONS as MULTIMODAL
from plasticlab.design.data.multimodal import multimodal
from plasticlab.design.data.screen_csv import screen
from plasticlab.design.data.synthetic import FUNCTIONS, synthetic

DATASETS: dict[str, Callable[..., DesignData]] = {
    **{name: synthetic for name in FUNCTIONS},
    **{name: multimodal for name in MULTIMODAL},
    "diabetes": diabetes,
    "digits": digits,
    "csv": screen,
}
SYNTHETIC = frozenset(FUNCTIONS) | frozenset(MULTIMODAL)  # exact GP model, true f known
_KEYS = {"name", "size", "noise", "data_seed", "top_k", "top_fraction", "within_class", "features", "targets",
         "id_column", "outcome_column", "label"}


def build_dataset(spec: dict[str, Any], data_dir: str | Path = ".") -> DesignData:
    name = spec.get("name")
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; available: {', '.join(sorted(DATASETS))}")
    unknown = set(spec) - _KEYS
    if unknown:
        raise KeyError(f"data set {name!r}: unknown key(s) {sorted(unknown)}")
    return screen(spec, data_dir) if name == "csv" else DATASETS[name](spec)


__all__ = ["DATASETS", "SYNTHETIC", "DesignData", "build_dataset", "make_data", "standardise"]
