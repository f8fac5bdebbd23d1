"""The papers' environments, built from config: chains, random (Dirichlet) MRPs, the two-state MRP.

Each builder returns transitions and mean rewards; the noise and γ come from the study config, so
one environment is run under every noise type. ``env_seed`` fixes the random MRPs' draws; the
learners' seeds only vary the sampled transitions.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from plasticlab.tabular.mrp import MRP
from plasticlab.tabular.noise import get_noise

Builder = Callable[..., tuple[np.ndarray, np.ndarray]]


def chain(states: int = 5, forward: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """A ring of ``states``: step forward with probability ``forward``, else stay; reward 1 only in
    the last state (a sparse, delayed reward, the chain of both papers' experiments)."""
    p = np.zeros((states, states))
    index = np.arange(states)
    p[index, (index + 1) % states] += forward
    p[index, index] += 1.0 - forward
    rewards = np.zeros(states)
    rewards[-1] = 1.0
    return p, rewards


def random_mrp(states: int = 10, concentration: float = 1.0, env_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows of P drawn from Dirichlet(concentration·1), mean rewards from U[0, 1].

    Small ``concentration`` gives nearly deterministic transitions ("low random"), large gives nearly
    uniform ones ("high random") — the two random environments of Rowland et al. 2024.
    """
    rng = np.random.default_rng(env_seed)
    p = rng.dirichlet(np.full(states, concentration), size=states)
    p = np.maximum(p, 0.0)
    return p / p.sum(axis=1, keepdims=True), rng.uniform(0.0, 1.0, size=states)


def two_state(stay: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Two states with rewards 1 and 0 (Rowland et al. 2024's smallest environment)."""
    p = np.array([[stay, 1.0 - stay], [1.0 - stay, stay]])
    return p, np.array([1.0, 0.0])


ENVIRONMENTS: dict[str, Builder] = {"chain": chain, "random": random_mrp, "two_state": two_state}


def build_mrp(spec: dict[str, Any], gamma: float, noise: dict[str, Any] | None = None) -> MRP:
    """An MRP from an environment spec ``{name: ..., <builder arguments>}`` and a noise spec
    ``{name: ..., scale: ...}``; a bad name or argument raises naming it."""
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in ENVIRONMENTS:
        raise KeyError(f"unknown tabular environment {name!r}; available: {', '.join(sorted(ENVIRONMENTS))}")
    try:
        transitions, rewards = ENVIRONMENTS[name](**spec)
    except TypeError as error:
        raise ValueError(f"environment {name!r}: {error}") from None
    noise = dict(noise or {"name": "none"})
    noise_name = noise.pop("name", "none")
    get_noise(noise_name)
    scale = float(noise.pop("scale", 0.0 if noise_name == "none" else 1.0))
    if noise:
        raise ValueError(f"noise {noise_name!r}: unknown parameter(s) {', '.join(sorted(noise))}")
    return MRP(transitions, rewards, gamma, noise=noise_name, noise_scale=scale)
