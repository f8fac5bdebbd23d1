"""Finite models of an MRP as per-state mixtures of (reward, next state) pairs.

The certainty-equivalent model of Rowland et al. 2024 puts weight 1/N on each of the N transitions
sampled from every state; the true model of an MRP with finitely supported reward noise is the
same object with the exact weights. Every dynamic-programming method below runs on this one form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticlab.tabular.mrp import MRP
from plasticlab.tabular.noise import get_noise


@dataclass(frozen=True)
class Model:
    """``rewards``, ``next_states``, ``weights``: ``(S, N)``; row x is the law of (R, X′) from x."""

    rewards: np.ndarray
    next_states: np.ndarray
    weights: np.ndarray
    gamma: float

    @property
    def n_states(self) -> int:
        return self.rewards.shape[0]


def empirical_model(mrp: MRP, n_samples: int, rng: np.random.Generator) -> Model:
    """The certainty-equivalent model from ``n_samples`` generative-model draws per state."""
    if n_samples < 1:
        raise ValueError(f"need at least one sample per state, got {n_samples}")
    rewards, next_states = mrp.sample(rng, (n_samples,))  # (N, S)
    return Model(rewards.T.copy(), next_states.T.copy(), np.full((mrp.n_states, n_samples), 1.0 / n_samples), mrp.gamma)


def true_model(mrp: MRP) -> Model:
    """The exact model, for reward noise with finite support (every (reward, x′) pair listed)."""
    support = get_noise(mrp.noise).support
    if support is None:
        raise ValueError(f"noise {mrp.noise!r} has no finite support; use a Monte Carlo ground truth")
    noise_values, noise_probs = support(mrp.noise_scale)
    s, k = mrp.n_states, len(noise_values)
    rewards = np.repeat(mrp.reward_mean[:, None], s * k, axis=1) + np.tile(np.repeat(noise_values, s), (s, 1))
    next_states = np.tile(np.arange(s), (s, k))
    weights = np.tile(mrp.transitions, (1, k)) * np.repeat(noise_probs, s)[None, :]
    return Model(rewards, next_states, weights, mrp.gamma)
