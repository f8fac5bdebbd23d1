"""Monte Carlo return distributions: the ground truth when no exact one is available.

Returns are simulated from every start state, truncated at a horizon H with γ^H·r_max/(1 − γ) below
``truncation``; the empirical distribution of ``n`` such returns converges in W1 at rate ~n^(−1/2).
"""

from __future__ import annotations

import numpy as np

from plasticlab.tabular.mrp import MRP
from plasticlab.tabular.noise import get_noise


def horizon(mrp: MRP, truncation: float = 1e-6) -> int:
    if mrp.gamma == 0.0:
        return 1
    r_max = float(np.abs(mrp.reward_mean).max()) + 10.0 * mrp.noise_scale
    if r_max == 0.0:
        return 1
    return max(1, int(np.ceil(np.log(truncation * (1.0 - mrp.gamma) / r_max) / np.log(mrp.gamma))))


def sample_returns(mrp: MRP, n: int, rng: np.random.Generator, truncation: float = 1e-6) -> np.ndarray:
    """``(S, n)`` sampled discounted returns, sorted along each row (ready for W1 computations)."""
    s = mrp.n_states
    cdf = np.cumsum(mrp.transitions, axis=1)
    state = np.repeat(np.arange(s)[:, None], n, axis=1)
    total = np.zeros((s, n))
    discount = 1.0
    noise = get_noise(mrp.noise)
    for _ in range(horizon(mrp, truncation)):
        total += discount * (mrp.reward_mean[state] + noise.sample(rng, (s, n), mrp.noise_scale))
        u = rng.random((s, n))
        state = np.minimum((u[..., None] >= cdf[state]).sum(axis=-1), s - 1)
        discount *= mrp.gamma
    return np.sort(total, axis=1)
