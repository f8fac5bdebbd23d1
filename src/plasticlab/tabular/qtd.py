"""Quantile TD (Dabney et al. 2018; analysed by Rowland et al. 2023, Eq. 3), on arrays of any batch shape.

θ(x, i) ← θ(x, i) + α · (1/m) Σⱼ [τᵢ − 1{r + γ θ(x′, j) < θ(x, i)}],  τᵢ = (2i − 1)/(2m).

Every step moves each quantile by at most α whatever the reward's size — the robustness to noisy
rewards that lets QTD's mean, (1/m) Σᵢ θ(x, i), beat TD in stochastic MRPs (Rowland et al. 2023).

:func:`update` is the equation as written, an m × m comparison per state: the reference that
:mod:`~plasticlab.tabular.qtd_grid` (the grid's faster, quantile-major layout) is tested against.
"""

from __future__ import annotations

import numpy as np

from plasticlab.tabular.td import successor_rows


def midpoints(m: int) -> np.ndarray:
    """Quantile levels τᵢ = (2i − 1)/(2m), i = 1..m: the W1-optimal levels for m equal-weight atoms."""
    return (2.0 * np.arange(1, m + 1) - 1.0) / (2.0 * m)


def init(batch: tuple[int, ...], n_states: int, m: int) -> np.ndarray:
    return np.zeros((*batch, n_states, m))


def update(theta: np.ndarray, rewards: np.ndarray, next_theta: np.ndarray, alpha: np.ndarray, gamma: float) -> np.ndarray:
    """One QTD step. ``theta``, ``next_theta``: ``(*batch, S, m)``; ``rewards``: broadcastable to
    ``(*batch, S)``; ``alpha`` broadcasts against ``(*batch, S)``."""
    m = theta.shape[-1]
    targets = rewards[..., None] + gamma * next_theta  # (*batch, S, m): one target per j
    below = (targets[..., None, :] < theta[..., :, None]).mean(axis=-1)  # (1/m) Σⱼ 1{target_j < θ_i}
    return theta + np.asarray(alpha)[..., None] * (midpoints(m) - below)


def estimate(theta: np.ndarray) -> np.ndarray:
    """The value estimate: the mean of the m quantile estimates."""
    return theta.mean(axis=-1)


def gather_next(theta: np.ndarray, next_states: np.ndarray) -> np.ndarray:
    """θ(x′, ·) for each state's sampled successor."""
    *batch, n_states, m = theta.shape
    return np.take(theta.reshape(-1, m), successor_rows(tuple(batch), n_states, next_states), axis=0)
