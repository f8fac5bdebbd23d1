"""A discovery data set: candidate interventions with feature embeddings and a true outcome.

Features and outcomes of real data sets are standardised (zero mean, unit variance per column), so
model, noise and SubsetSelect settings mean the same on each of them; the synthetic sets keep the
units of the reference code, where its fixed settings apply. ``outcome`` is the ground-truth effect f the
metrics judge against; an experiment measures ``outcome + N(0, observation_noise²)`` once per
candidate (drawn per seed, shared by all methods of that seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DesignData:
    name: str
    ids: np.ndarray          # (N,) candidate names (strings)
    features: np.ndarray     # (N, d)
    outcome: np.ndarray      # (N,) true effect f
    observation_noise: float
    top_k: int               # size of the "top interventions" set the metrics score against

    @property
    def size(self) -> int:
        return int(len(self.outcome))

    def measure(self, rng: np.random.Generator) -> np.ndarray:
        """One noisy measurement per candidate (what a screen would report)."""
        return self.outcome + self.observation_noise * rng.standard_normal(self.size)


def standardise(values: np.ndarray) -> np.ndarray:
    """Per-column z-scores; a constant column becomes zeros (not NaN)."""
    values = np.asarray(values, dtype=float)
    std = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(std > 0, std, 1.0)


def make_data(name: str, features: np.ndarray, outcome: np.ndarray, spec: dict, default_top_k: int | None = None,
              ids: np.ndarray | None = None, standardise_values: bool = True) -> DesignData:
    """Standardise (unless told not to) and resolve ``top_k``: the spec's, else ``default_top_k``,
    else the top ``top_fraction`` (default 1%, the paper's) of the candidates."""
    features = np.asarray(features, dtype=float).reshape(len(outcome), -1)
    top_k = spec.get("top_k") or default_top_k or max(1, math.ceil(float(spec.get("top_fraction", 0.01)) * len(outcome)))
    if not 0 < int(top_k) < len(outcome):
        raise ValueError(f"data set {name!r}: top_k={top_k} must be between 1 and the {len(outcome)} candidates - 1")
    return DesignData(name=name, ids=np.asarray(ids if ids is not None else [f"{name}_{i}" for i in range(len(outcome))]),
                      features=standardise(features) if standardise_values else features,
                      outcome=standardise(outcome) if standardise_values else np.asarray(outcome, dtype=float),
                      top_k=int(top_k),
                      observation_noise=float(spec.get("noise", 0.0)))
