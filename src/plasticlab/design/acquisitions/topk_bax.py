"""Top-k BAX (InfoBAX, Neiswanger et al. 2021, with the top-k algorithm): the DiscoBAX paper's
closest baseline. Same estimator, but the algorithm's output is the k candidates with the largest
f_j, which concentrate on the single highest mode; comparing it with DiscoBAX isolates what
SubsetSelect's diversity adds."""

from __future__ import annotations

import numpy as np

from plasticlab.design.acquisitions.base import Acquisition
from plasticlab.design.acquisitions.information import information_gain
from plasticlab.design.models.base import Posterior


class TopKBAX(Acquisition):
    name = "topk_bax"

    def __init__(self, size: int = 10, samples: int = 32) -> None:
        self.size, self.samples = int(size), int(samples)

    def samples_needed(self, batch: int) -> int:
        return self.samples

    def score(self, posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
        draws = posterior.samples[:self.samples]
        size = min(self.size, posterior.size)
        top = np.argpartition(-draws, size - 1, axis=1)[:, :size]
        return information_gain(posterior, top)
