"""The DiscoBAX paper's synthetic benchmarks, as defined here (fixed ``data_seed``, default 0).

Candidates are ``size`` points drawn uniformly from the box given below; the outcome f is a
multi-modal function, so the best *set* of interventions spans several modes (mechanisms):

- ``sine1d``: x ∈ [−10, 10], f(x) = sin(x) + ½ sin(3x): period 2π with two equal maxima
  (≈1.076 at x ≈ 0.70 and 2.44 mod 2π) per period, six in the box, so the top values are split
  between six separate regions.
- ``mog1d``: x ∈ [−10, 10], f(x) = Σ_{c=1}^{5} a_c exp(−(x − μ_c)² / (2 s_c²)) with μ_c ~ U[−8, 8],
  a_c ~ U[0.5, 1], s_c ~ U[0.3, 1] drawn from ``data_seed``: bumps of unequal heights and widths.
- ``sine2d``: x ∈ [0, 3π]², f(x) = sin(x₁) sin(x₂): five equal maxima (the four corners' (π/2 or
  5π/2)² and the centre (3π/2)²).

Outcomes are standardised afterwards; measurements add N(0, ``noise``²). The paper scores them
with top-10 recall and the expected max effect, hence ``top_k`` 10 by default.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from plasticlab.design.data.base import DesignData, make_data


def _sine1d(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-10.0, 10.0, (size, 1))
    return x, np.sin(x[:, 0]) + 0.5 * np.sin(3.0 * x[:, 0])


def _mog1d(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    centres, heights, widths = rng.uniform(-8, 8, 5), rng.uniform(0.5, 1.0, 5), rng.uniform(0.3, 1.0, 5)
    x = rng.uniform(-10.0, 10.0, (size, 1))
    return x, (heights * np.exp(-((x - centres) ** 2) / (2 * widths**2))).sum(axis=1)


def _sine2d(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(0.0, 3 * np.pi, (size, 2))
    return x, np.sin(x[:, 0]) * np.sin(x[:, 1])


FUNCTIONS: dict[str, Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]] = {
    "sine1d": _sine1d, "mog1d": _mog1d, "sine2d": _sine2d}


def synthetic(spec: dict[str, Any]) -> DesignData:
    rng = np.random.default_rng(int(spec.get("data_seed", 0)))
    features, outcome = FUNCTIONS[spec["name"]](rng, int(spec.get("size", 1000)))
    return make_data(spec["name"], features, outcome, spec, default_top_k=10)
