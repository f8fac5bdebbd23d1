"""Top-k BAX (InfoBAX, Neiswanger et al. 2021, with the top-k algorithm): the DiscoBAX paper's
closest baseline. Same estimator and batch rule, but the algorithm's output is the k candidates
with the largest f_j, which concentrate on the single highest mode; comparing it with DiscoBAX
isolates what SubsetSelect's diversity adds."""

from __future__ import annotations

import numpy as np

from plasticlab.design.acquisitions.base import Acquisition
from plasticlab.design.acquisitions.batch import batch_rule
from plasticlab.design.acquisitions.information import information_gain
from plasticlab.design.models.base import Posterior


class TopKBAX(Acquisition):
    name = "topk_bax"

    def __init__(self, size: int = 5, samples: int = 20, batch: str = "greedy") -> None:
        self.size, self.samples = int(size), int(samples)
        self.batch = batch_rule(batch)

    def samples_needed(self, batch: int) -> int:
        return self.samples

    def output_sets(self, posterior: Posterior) -> np.ndarray:
        draws = posterior.samples[:self.samples]
        size = min(self.size, posterior.size)
        return np.argpartition(-draws, size - 1, axis=1)[:, :size]

    def score(self, posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
        return information_gain(posterior, self.output_sets(posterior))

    def select(self, posterior: Posterior | None, available: np.ndarray, batch: int,
               rng: np.random.Generator) -> np.ndarray:
        assert posterior is not None
        return self.batch(posterior, self.output_sets(posterior), available, batch)
