"""The DiscoBAX paper's synthetic benchmarks, as its reference code defines them
(amehrjou/DiscoBAX ``discobax/data/utils/sin1.py``, ``mog.py``, ``sin_2d.py``; reimplemented).

Candidates are an evenly spaced grid (the reference's ``linspace``), ``size`` points (64 in its
toy experiment, ``NUM_SAMPLES``); the outcome f is multi-modal, so the best *set* spans modes:

- ``sine1d``: x ∈ [−2π, 2π], f(x) = sin(2.5x/π) + 0.95 cos(2πx/3) + 0.25 cos(10x + 0.5);
  on 64 points its top 10 split between the left edge (x ≈ −6.3…−5.5) and x ≈ 2.5…3.3.
- ``mog1d``: x ∈ [−1, 1], f = 0.3 N(x; −0.5, 0.1²) + 0.7 N(x; 0.5, 0.1²) (Gaussian densities):
  a tall and a short bump; the top 10 hold both.
- ``sine2d``: a √size × √size grid on [−π, π]², f(x) = mean of sin(W x) over its two rows,
  W = [[0.25, −1/π], [0.1, 0.02]]; ``size`` must be a square.

Features and outcomes stay in these units (not standardised), so the reference's fixed GP
hyperparameters and SubsetSelect noise length scale mean what they mean there. Measurements add
N(0, ``noise``²) (the reference measures without noise: ``noise: 0``). Scored with top-10 recall,
as in the paper's synthetic experiments, unless ``top_k`` says otherwise.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from scipy import stats

from plasticlab.design.data.base import DesignData, make_data


def _sine1d(size: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-2 * np.pi, 2 * np.pi, size)
    return x[:, None], np.sin(2.5 / np.pi * x) + 0.95 * np.cos(2 * np.pi / 3 * x) + 0.25 * np.cos(10 * x + 0.5)


def _mog1d(size: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-1.0, 1.0, size)
    return x[:, None], 0.3 * stats.norm.pdf(x, -0.5, 0.1) + 0.7 * stats.norm.pdf(x, 0.5, 0.1)


def _sine2d(size: int) -> tuple[np.ndarray, np.ndarray]:
    side = math.isqrt(size)
    if side * side != size:
        raise ValueError(f"sine2d is a square grid: size must be a square number, got {size}")
    axis = np.linspace(-np.pi, np.pi, side)
    x = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    weights = np.array([[0.25, -1.0 / np.pi], [0.1, 0.02]])
    return x, np.sin(x @ weights.T).mean(axis=1)


FUNCTIONS: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
    "sine1d": _sine1d, "mog1d": _mog1d, "sine2d": _sine2d}


def synthetic(spec: dict[str, Any]) -> DesignData:
    features, outcome = FUNCTIONS[spec["name"]](int(spec.get("size", 64)))
    return make_data(spec["name"], features, outcome, spec, default_top_k=10, standardise_values=False)
