"""Quantile dynamic programming: iterate θ ← Π_Q T θ on a model (Rowland et al. 2024, Sec. 6).

Each state's m atoms are pushed through every (reward, next state) pair of the model, giving a
mixture of N·m weighted atoms, whose τᵢ-quantiles are the new θ(x, ·). Π_Q T is a γ-contraction in
the supremum-W∞ metric (Rowland et al. 2023, "An analysis of QTD"), so the iterates converge.
"""

from __future__ import annotations

import numpy as np

from plasticlab.tabular.model import Model
from plasticlab.tabular.qtd import midpoints


def quantile_bellman(model: Model, theta: np.ndarray) -> np.ndarray:
    """Π_Q T θ for all states at once: ``theta`` is ``(S, m)``. At exact CDF ties the midpoint of
    the lower and upper quantile, as in :func:`~plasticlab.tabular.projections.quantile_projection`."""
    s, m = theta.shape
    targets = (model.rewards[:, :, None] + model.gamma * theta[model.next_states]).reshape(s, -1)  # (S, N·m)
    levels, n = midpoints(m), targets.shape[1]
    if np.all(model.weights == model.weights[:, :1]):
        # equal weights (the sampled model): order statistics at fixed ranks, no sort needed
        rank = levels * n
        lower = np.ceil(rank - 1e-9).astype(np.int64) - 1
        upper = np.minimum(np.floor(rank + 1e-9).astype(np.int64), n - 1)
        picked = np.partition(targets, np.union1d(lower, upper), axis=1)
        return 0.5 * (picked[:, lower] + picked[:, upper])
    weights = np.repeat(model.weights / m, m, axis=1)
    order = np.argsort(targets, axis=1, kind="stable")
    values = np.take_along_axis(targets, order, axis=1)
    cdf = np.cumsum(np.take_along_axis(weights, order, axis=1), axis=1)
    # one searchsorted for all rows: row r's CDF lives in [2r, 2r + 1], its levels likewise
    shift = 2.0 * np.arange(s)[:, None]
    flat, base = (cdf + shift).ravel(), np.arange(s)[:, None] * n
    lower = np.searchsorted(flat, (levels - 1e-12 + shift).ravel(), side="left").reshape(s, m) - base
    upper = np.searchsorted(flat, (levels + 1e-12 + shift).ravel(), side="right").reshape(s, m) - base
    pick = lambda index: np.take_along_axis(values, np.minimum(index, n - 1), axis=1)  # noqa: E731
    return 0.5 * (pick(lower) + pick(upper))


def quantile_dp(model: Model, m: int, tol: float = 1e-8, max_iterations: int = 100_000) -> tuple[np.ndarray, int]:
    """Iterate from θ = 0 until no quantile moves more than ``tol``. Returns ``(theta (S, m), iterations)``."""
    theta = np.zeros((model.n_states, m))
    for iteration in range(1, max_iterations + 1):
        new = quantile_bellman(model, theta)
        change = np.abs(new - theta).max()
        theta = new
        if change <= tol:
            return theta, iteration
    return theta, max_iterations
