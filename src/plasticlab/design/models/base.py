"""What every outcome model hands the acquisitions: a posterior over all candidates.

Acquisitions never see a model, only a :class:`Posterior`: the mean and standard deviation of the
latent outcome f at every candidate, joint samples of f over all candidates, the observation-noise
variance, and the posterior covariance between every candidate and a few chosen ones (what the
information-gain estimators condition on). A GP fills these exactly; a sampling model (MC dropout,
an ensemble) fills them from its samples. So a new model plugs in without touching an acquisition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np


@dataclass(frozen=True)
class Posterior:
    """Beliefs about f over N candidates after one cycle's fit.

    ``samples`` is ``(M, N)``: M joint draws of f. ``cross_covariance(columns)`` is ``(N, len(columns))``:
    Cov[f(x), f(x_c)] for every candidate x and each chosen column c.
    """

    mean: np.ndarray
    std: np.ndarray
    samples: np.ndarray
    noise_variance: float
    cross_covariance: Callable[[np.ndarray], np.ndarray]

    @property
    def size(self) -> int:
        return int(self.mean.shape[0])


class OutcomeModel(Protocol):
    """fit on the observed (features, outcomes); then a posterior over every candidate."""

    def fit(self, features: np.ndarray, outcomes: np.ndarray, rng: np.random.Generator) -> None: ...

    def posterior(self, candidates: np.ndarray, samples: int, rng: np.random.Generator) -> Posterior: ...


def sample_cross_covariance(samples: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Cov[f(x), f(x_c)] estimated from joint samples ``(M, N)``; only the asked columns are formed,
    so N × N is never built (N may be tens of thousands of genes)."""
    centred = samples - samples.mean(axis=0, keepdims=True)
    scale = 1.0 / max(samples.shape[0] - 1, 1)

    def cross(columns: np.ndarray) -> np.ndarray:
        return scale * centred.T @ centred[:, np.asarray(columns)]

    return cross


def sample_posterior(samples: np.ndarray, noise_variance: float) -> Posterior:
    """A :class:`Posterior` whose every statistic is estimated from joint samples ``(M, N)``."""
    return Posterior(mean=samples.mean(axis=0), std=samples.std(axis=0, ddof=1) if len(samples) > 1 else
                     np.zeros(samples.shape[1]), samples=samples, noise_variance=float(noise_variance),
                     cross_covariance=sample_cross_covariance(samples))
