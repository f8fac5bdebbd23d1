"""SubsetSelect (DiscoBAX, Lyle et al. 2023, Algorithm 1): the set S of k interventions maximising
E_η[max(0, max_{x∈S} h(x, η))], greedily.

h models how an intervention's measured effect f(x) carries over to the phenotype of interest:
``additive`` h = max(0, f + η) with η ~ N(0, scale²), or ``multiplicative`` h = f · b with
b ~ Bernoulli(p) (the effect shows up or it does not). The objective is monotone and submodular in
S (a max of modular functions, averaged), so greedy is within 1 − 1/e of the best set; because an
extra member only helps in the η where the others fail, the chosen set covers several modes of f
(diverse mechanisms) rather than k near-copies of the best one. The expectation is a Monte Carlo
average over fixed η draws, and the greedy runs for many posterior samples of f at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

_BLOCK = 1 << 22  # elements of one (samples, η draws, candidates) block


@dataclass(frozen=True)
class NoiseModel:
    """How η is drawn and turned into h; ``scale`` is the additive std or the Bernoulli success rate."""

    name: str
    scale: float
    draw: Callable[[np.random.Generator, tuple[int, ...], float], np.ndarray]
    apply: Callable[[np.ndarray, np.ndarray], np.ndarray]


NOISE_MODELS: dict[str, Callable[[float], NoiseModel]] = {
    "additive": lambda scale: NoiseModel("additive", scale, lambda rng, shape, s: rng.normal(0.0, s, shape),
                                         lambda f, eta: np.maximum(0.0, f + eta)),
    "multiplicative": lambda scale: NoiseModel("multiplicative", scale,
                                               lambda rng, shape, p: (rng.random(shape) < p).astype(float),
                                               lambda f, eta: f * eta),
}


def noise_model(name: str, scale: float) -> NoiseModel:
    if name not in NOISE_MODELS:
        raise KeyError(f"unknown SubsetSelect noise {name!r}; available: {', '.join(sorted(NOISE_MODELS))}")
    if name == "multiplicative" and not 0.0 < scale <= 1.0:
        raise ValueError(f"multiplicative noise needs a success probability in (0, 1], got {scale}")
    if scale < 0:
        raise ValueError(f"noise scale must be non-negative, got {scale}")
    return NOISE_MODELS[name](float(scale))


def set_value(h: np.ndarray, members: np.ndarray) -> np.ndarray:
    """E_η[max(0, max over ``members`` of h)] for h ``(..., L, N)`` and member indices ``(..., k)``."""
    chosen = np.take_along_axis(h, np.asarray(members)[..., None, :], axis=-1)  # (..., L, k)
    return np.maximum(chosen.max(axis=-1), 0.0).mean(axis=-1)


def greedy(h: np.ndarray, size: int) -> np.ndarray:
    """Greedy maximiser of :func:`set_value` for h ``(m, L, N)``: indices ``(m, size)``, in pick order.

    Ties (e.g. once the set's value saturates and nothing adds any more) go to the largest E_η[h]
    alone, then to the lowest index: the filler members are then the next-best candidates, not
    arbitrary low indices (which would otherwise receive information gain downstream)."""
    m, _, n = h.shape
    if not 0 < size <= n:
        raise ValueError(f"subset size {size} must be in 1..{n}")
    best = np.zeros(h.shape[:2])
    taken = np.zeros((m, n), dtype=bool)
    picks = np.empty((m, size), dtype=int)
    rows = np.arange(m)
    alone = h.mean(axis=1)  # (m, N): E_η[h(x)], the tie-breaker
    for step in range(size):
        gains = np.maximum(best[:, :, None], h).mean(axis=1)  # (m, N): value of S ∪ {x}
        gains[taken] = -np.inf
        tied = gains >= gains.max(axis=1, keepdims=True) - 1e-12
        pick = np.where(tied, alone, -np.inf).argmax(axis=1)
        picks[:, step], taken[rows, pick] = pick, True
        best = np.maximum(best, h[rows, :, pick])
    return picks


def subset_select(values: np.ndarray, noise: NoiseModel, size: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """SubsetSelect on each row of ``values`` ``(m, N)`` (posterior samples of f): ``(m, size)`` indices.

    Each sample gets its own η draws ``(draws, N)``; samples are processed in blocks so memory stays
    bounded for tens of thousands of candidates.
    """
    values = np.atleast_2d(values)
    m, n = values.shape
    per_block = max(1, _BLOCK // (draws * n))
    out = []
    for start in range(0, m, per_block):
        block = values[start:start + per_block]
        eta = noise.draw(rng, (len(block), draws, n), noise.scale)
        out.append(greedy(noise.apply(block[:, None, :], eta), size))
    return np.concatenate(out, axis=0)
