"""Our own synthetic sets with more modes than the reference's, for the larger-batch protocol.

The reference's functions (:mod:`.synthetic`) put their top 10 in one or two regions; with a few
hundred candidates and batches of 8 every guided method then finds all of them and no comparison
is left. These spread the top values over five or six separate regions, so covering *different*
mechanisms is what separates methods. Candidates are ``size`` points drawn uniformly from the box
(fixed ``data_seed``, default 0), in raw units like the reference's sets:

- ``periodic1d``: x ∈ [−10, 10], f(x) = sin(x) + ½ sin(3x): two equal maxima (≈1.076 at
  x ≈ 0.70 and 2.44 mod 2π) per period, six in the box;
- ``bumps1d``: x ∈ [−10, 10], f(x) = Σ_{c=1}^{5} a_c exp(−(x − μ_c)²/(2 s_c²)) with μ_c ~ U[−8, 8],
  a_c ~ U[0.5, 1], s_c ~ U[0.3, 1] drawn from ``data_seed``: bumps of unequal heights and widths;
- ``periodic2d``: x ∈ [0, 3π]², f(x) = sin(x₁) sin(x₂): five equal maxima (the four corners'
  (π/2 or 5π/2)² and the centre (3π/2)²).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from plasticlab.design.data.base import DesignData, make_data


def _periodic1d(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-10.0, 10.0, (size, 1))
    return x, np.sin(x[:, 0]) + 0.5 * np.sin(3.0 * x[:, 0])


def _bumps1d(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    centres, heights, widths = rng.uniform(-8, 8, 5), rng.uniform(0.5, 1.0, 5), rng.uniform(0.3, 1.0, 5)
    x = rng.uniform(-10.0, 10.0, (size, 1))
    return x, (heights * np.exp(-((x - centres) ** 2) / (2 * widths**2))).sum(axis=1)


def _periodic2d(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(0.0, 3 * np.pi, (size, 2))
    return x, np.sin(x[:, 0]) * np.sin(x[:, 1])


FUNCTIONS: dict[str, Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]] = {
    "periodic1d": _periodic1d, "bumps1d": _bumps1d, "periodic2d": _periodic2d}


def multimodal(spec: dict[str, Any]) -> DesignData:
    rng = np.random.default_rng(int(spec.get("data_seed", 0)))
    features, outcome = FUNCTIONS[spec["name"]](rng, int(spec.get("size", 400)))
    return make_data(spec["name"], features, outcome, spec, default_top_k=10, standardise_values=False)
