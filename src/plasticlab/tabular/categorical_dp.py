"""Categorical dynamic programming: iterate η ← Π_C T η on a model until it stops moving.

T is the distributional Bellman operator of the model, (Tη)(x) = Σₙ wₓₙ (b_{rₓₙ,γ})# η(x′ₓₙ), and
Π_C the categorical projection. Π_C T is a √γ-contraction in the supremum-Cramér metric (Rowland
et al. 2018), so the iterates converge to the categorical fixed point that DCFP solves for directly.
Written in probability coordinates with the projection applied atom by atom — independently of
DCFP's CDF-coordinate matrix, so the two check each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticlab.tabular.model import Model
from plasticlab.tabular.projections import hat_split


@dataclass(frozen=True)
class CategoricalOperator:
    """Π_C T of ``model`` on ``atoms``, with where each atom's mass lands precomputed."""

    model: Model
    atoms: np.ndarray

    def __post_init__(self) -> None:
        s, k = self.model.n_states, len(self.atoms)
        targets = self.model.rewards[:, :, None] + self.model.gamma * self.atoms  # (S, N, K)
        lower, share = hat_split(targets, self.atoms)
        rows = np.arange(s)[:, None, None] * k
        object.__setattr__(self, "_lower", (rows + lower).ravel())
        object.__setattr__(self, "_share", share)

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        s, k = probs.shape
        mass = self.model.weights[:, :, None] * probs[self.model.next_states]  # (S, N, K)
        low = np.bincount(self._lower, weights=(mass * (1.0 - self._share)).ravel(), minlength=s * k)  # type: ignore[attr-defined]
        high = np.bincount(self._lower + 1, weights=(mass * self._share).ravel(), minlength=s * k)  # type: ignore[attr-defined]
        return (low + high).reshape(s, k)


def categorical_dp(model: Model, atoms: np.ndarray, tol: float = 1e-8, max_iterations: int = 100_000,
                   init: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Iterate from ``init`` (default: all mass on the middle atom) until the largest change of any
    CDF value is ≤ ``tol``. Returns ``(probs (S, K), iterations)``."""
    operator = CategoricalOperator(model, atoms)
    probs = init
    if probs is None:
        probs = np.zeros((model.n_states, len(atoms)))
        probs[:, len(atoms) // 2] = 1.0
    for iteration in range(1, max_iterations + 1):
        new = operator(probs)
        change = np.abs(np.cumsum(new - probs, axis=1)).max()
        probs = new
        if change <= tol:
            return probs, iteration
    return probs, max_iterations
