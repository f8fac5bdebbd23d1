"""DiscoBAX (Lyle et al. 2023, Algorithm 2): acquire where the outcome is most informative about
the output of SubsetSelect, i.e. about which *set* of interventions best covers the phenotype.

Each cycle: m joint posterior samples f_j → S_j = SubsetSelect(f_j) → EIG(x) about S_j
(:func:`information_gain`) → a batch by the ``batch`` rule (:mod:`.batch`). Because SubsetSelect's
sets spread over several modes of f, the information is about all of them, not only about the
single best region. η is drawn over the campaign's candidates (:meth:`prepare`), from a pool of
``eta_pool`` latent draws when it is correlated (0: fresh draws every time).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plasticlab.design.acquisitions.base import Acquisition
from plasticlab.design.acquisitions.batch import batch_rule
from plasticlab.design.acquisitions.information import information_gain
from plasticlab.design.models.base import Posterior
from plasticlab.design.subset_select import LatentPool, NoiseField, noise_model, subset_select


class DiscoBAX(Acquisition):
    name = "discobax"

    def __init__(self, size: int = 5, noise: str = "multiplicative", scale: float = 1.5, draws: int = 20,
                 samples: int = 20, correlation: str | dict[str, Any] = "iid", batch: str = "greedy",
                 eta_pool: int = 512) -> None:
        self.size, self.draws, self.samples, self.eta_pool = int(size), int(draws), int(samples), int(eta_pool)
        self.noise = noise_model(noise, scale, correlation)
        self.batch = batch_rule(batch)
        self._eta: NoiseField | LatentPool | None = None

    def samples_needed(self, batch: int) -> int:
        return self.samples

    def prepare(self, features: np.ndarray, rng: np.random.Generator) -> None:
        field = self.noise.over(features)
        self._eta = LatentPool(field, self.eta_pool, rng) if field.factor is not None and self.eta_pool else field

    def _eta_over(self, size: int) -> NoiseField | LatentPool:
        """η over the prepared candidates; iid η needs no features, correlated η does."""
        if self._eta is not None and _size(self._eta) == size:
            return self._eta
        if self.noise.correlation == "iid":
            return self.noise.over(np.zeros((size, 1)))
        raise RuntimeError(f"DiscoBAX with correlated η needs prepare(features) of its {size} candidates first")

    def output_sets(self, posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
        return subset_select(posterior.samples[:self.samples], self._eta_over(posterior.size),
                             min(self.size, posterior.size), self.draws, rng)

    def score(self, posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
        return information_gain(posterior, self.output_sets(posterior, rng))

    def select(self, posterior: Posterior | None, available: np.ndarray, batch: int,
               rng: np.random.Generator) -> np.ndarray:
        assert posterior is not None
        return self.batch(posterior, self.output_sets(posterior, rng), available, batch)


def _size(eta: NoiseField | LatentPool) -> int:
    return eta.field.size if isinstance(eta, LatentPool) else eta.size
