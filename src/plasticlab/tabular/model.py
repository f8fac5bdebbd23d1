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


def merge_duplicates(model: Model) -> Model:
    """The same model with repeated (reward, next state) pairs of each row merged, weights summed.

    N samples from a state with few successors and rewards repeat the same few pairs; every method
    costs in proportion to the pairs per row, so merging them makes large N cheap without changing
    the model (the law of (R, X′) per state is the same). Rows are padded with zero weights.
    """
    rows = []
    for rewards, next_states, weights in zip(model.rewards, model.next_states, model.weights):
        pairs, inverse = np.unique(np.stack([rewards, next_states.astype(float)]), axis=1, return_inverse=True)
        rows.append((pairs, np.bincount(inverse.ravel(), weights=weights, minlength=pairs.shape[1])))
    width = max(pairs.shape[1] for pairs, _ in rows)
    rewards, next_states, weights = (np.zeros((model.n_states, width)) for _ in range(3))
    for x, (pairs, merged) in enumerate(rows):
        count = pairs.shape[1]
        rewards[x], next_states[x] = pairs[0, 0], pairs[1, 0]  # padding repeats a real pair, with weight 0
        rewards[x, :count], next_states[x, :count], weights[x, :count] = pairs[0], pairs[1], merged
    return Model(rewards, next_states.astype(np.int64), weights, model.gamma)
