"""A finite Markov reward process: an MDP under a fixed policy (transition matrix, reward law, γ).

Ground truth for the value is exact: V = (I − γP)⁻¹ r̄ (one linear solve). Rewards are the state's
mean reward plus zero-mean noise drawn afresh on every visit, so the value does not depend on the
noise, while the return distribution and the learners' variance do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticlab.tabular.noise import get_noise


@dataclass(frozen=True)
class MRP:
    """``transitions[x, x']`` = P(x' | x); reward at x = ``reward_mean[x]`` + noise(``noise_scale``)."""

    transitions: np.ndarray
    reward_mean: np.ndarray
    gamma: float
    noise: str = "none"
    noise_scale: float = 0.0

    def __post_init__(self) -> None:
        p = np.asarray(self.transitions, dtype=float)
        if p.ndim != 2 or p.shape[0] != p.shape[1] or p.shape[0] != len(self.reward_mean):
            raise ValueError(f"transitions must be (S, S) with S = len(reward_mean), got {p.shape}")
        if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0):
            raise ValueError("each row of transitions must be a probability vector")
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"gamma must lie in [0, 1), got {self.gamma}")
        get_noise(self.noise)

    @property
    def n_states(self) -> int:
        return len(self.reward_mean)

    def values(self) -> np.ndarray:
        """Exact values V = (I − γP)⁻¹ r̄ (Bellman equation solved directly)."""
        return np.linalg.solve(np.eye(self.n_states) - self.gamma * self.transitions, self.reward_mean)

    def sample(self, rng: np.random.Generator, batch: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """One sampled transition from *every* state, for each element of ``batch``.

        Returns ``(rewards, next_states)``, both ``(*batch, S)``: the synchronous (generative-model)
        sampling under which the QTD paper compares TD and QTD. Next states by inverse CDF, so a
        whole batch is one comparison, with no loop over seeds or states.
        """
        shape = (*batch, self.n_states)
        cdf = np.cumsum(self.transitions, axis=1)
        u = rng.random(shape)
        next_states = np.minimum((u[..., None] >= cdf).sum(axis=-1), self.n_states - 1)
        rewards = self.reward_mean + get_noise(self.noise).sample(rng, shape, self.noise_scale)
        return rewards, next_states

    def reward_bounds(self) -> tuple[float, float] | None:
        """Smallest and largest possible reward, or None if the noise is unbounded."""
        bound = get_noise(self.noise).bound
        if bound is None:
            return None
        b = bound(self.noise_scale)
        return float(self.reward_mean.min() - b), float(self.reward_mean.max() + b)
