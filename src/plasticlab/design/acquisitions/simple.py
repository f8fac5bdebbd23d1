"""The paper's non-BAX baselines: random, UCB, Thompson sampling, and maximum variance."""

from __future__ import annotations

import numpy as np

from plasticlab.design.acquisitions.base import Acquisition
from plasticlab.design.models.base import Posterior


class Random(Acquisition):
    """Uniformly at random among the remaining candidates; needs no model (so it costs no fit)."""

    name = "random"
    needs_model = False

    def select(self, posterior: Posterior | None, available: np.ndarray, batch: int,
               rng: np.random.Generator) -> np.ndarray:
        return rng.choice(np.flatnonzero(available), size=batch, replace=False)


class UCB(Acquisition):
    """Upper confidence bound μ(x) + β σ(x): optimism about the mean outcome."""

    name = "ucb"

    def __init__(self, beta: float = 2.0) -> None:
        self.beta = float(beta)

    def score(self, posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
        return posterior.mean + self.beta * posterior.std


class MaxVariance(Acquisition):
    """Pure exploration (uncertainty sampling): the largest posterior standard deviation."""

    name = "max_variance"

    def score(self, posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
        return posterior.std


class Thompson(Acquisition):
    """Thompson sampling in batch: slot b takes the best remaining candidate under joint sample b
    (samples are reused cyclically if the model offers fewer than B, e.g. a small ensemble)."""

    name = "thompson"

    def samples_needed(self, batch: int) -> int:
        return batch

    def select(self, posterior: Posterior | None, available: np.ndarray, batch: int,
               rng: np.random.Generator) -> np.ndarray:
        assert posterior is not None
        remaining = available.copy()
        picks = np.empty(batch, dtype=int)
        for slot in range(batch):  # a loop over the batch, never over candidates
            draw = np.where(remaining, posterior.samples[slot % len(posterior.samples)], -np.inf)
            picks[slot] = int(draw.argmax())
            remaining[picks[slot]] = False
        return picks
