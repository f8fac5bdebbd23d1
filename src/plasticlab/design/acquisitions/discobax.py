"""DiscoBAX (Lyle et al. 2023, Algorithm 2): acquire where the outcome is most informative about
the output of SubsetSelect, i.e. about which *set* of interventions best covers the phenotype.

Each cycle: m joint posterior samples f_j → S_j = SubsetSelect(f_j) → EIG(x) about S_j
(:func:`information_gain`) → the batch of the B highest. Because SubsetSelect's sets spread over
several modes of f, the information is about all of them, not only about the single best region.
"""

from __future__ import annotations

import numpy as np

from plasticlab.design.acquisitions.base import Acquisition
from plasticlab.design.acquisitions.information import information_gain
from plasticlab.design.models.base import Posterior
from plasticlab.design.subset_select import noise_model, subset_select


class DiscoBAX(Acquisition):
    name = "discobax"

    def __init__(self, size: int = 10, noise: str = "additive", scale: float = 0.5, draws: int = 32,
                 samples: int = 32) -> None:
        self.size, self.draws, self.samples = int(size), int(draws), int(samples)
        self.noise = noise_model(noise, scale)

    def samples_needed(self, batch: int) -> int:
        return self.samples

    def output_sets(self, posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
        return subset_select(posterior.samples[:self.samples], self.noise, min(self.size, posterior.size),
                             self.draws, rng)

    def score(self, posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
        return information_gain(posterior, self.output_sets(posterior, rng))
