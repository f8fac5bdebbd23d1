"""Acquisition functions by name; a method in the config is ``name`` or ``{name: ..., <parameters>}``.

DiscoBAX and top-k BAX receive the study's ``subset_select`` section (set size, noise, its
correlation, draws), its number of posterior samples and its batch rule unless the method's own
spec overrides them.
"""

from __future__ import annotations

from typing import Any

from plasticlab.design.acquisitions.base import Acquisition, top_available
from plasticlab.design.acquisitions.batch import BATCH_RULES, joint_information
from plasticlab.design.acquisitions.discobax import DiscoBAX
from plasticlab.design.acquisitions.information import information_gain
from plasticlab.design.acquisitions.simple import UCB, MaxVariance, Random, Thompson
from plasticlab.design.acquisitions.topk_bax import TopKBAX

ACQUISITIONS: dict[str, type[Acquisition]] = {cls.name: cls for cls in (Random, UCB, Thompson, MaxVariance, TopKBAX, DiscoBAX)}
# the study-level settings each BAX method takes (top-k BAX shares only the set size and samples)
_SHARED = {"discobax": ("size", "noise", "scale", "correlation", "draws", "samples", "batch"),
           "topk_bax": ("size", "samples", "batch")}


def build_acquisition(spec: str | dict[str, Any], shared: dict[str, Any] | None = None) -> Acquisition:
    """An acquisition from its spec; ``shared`` (set size, noise, …) fills what a BAX spec leaves out."""
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    name = spec.pop("name", None)
    if name not in ACQUISITIONS:
        raise KeyError(f"unknown acquisition {name!r}; available: {', '.join(sorted(ACQUISITIONS))}")
    inherited = {k: v for k, v in (shared or {}).items() if k in _SHARED.get(name, ())}
    params = {**inherited, **spec}
    try:
        return ACQUISITIONS[name](**params)
    except TypeError as error:
        raise ValueError(f"acquisition {name!r}: {error}") from None


__all__ = ["ACQUISITIONS", "Acquisition", "BATCH_RULES", "build_acquisition", "information_gain", "joint_information",
           "top_available"]
