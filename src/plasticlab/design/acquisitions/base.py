"""The acquisition interface: score every candidate from a :class:`Posterior`, take the best batch.

By default each cycle acquires the B not yet acquired candidates with the highest score together
(no re-fit inside a batch). An acquisition that is not a per-candidate score (Thompson sampling)
or that builds its batch jointly (the BAX methods, :mod:`.batch`) overrides :meth:`Acquisition.select`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from plasticlab.design.models.base import Posterior


def top_available(scores: np.ndarray, available: np.ndarray, batch: int) -> np.ndarray:
    """Indices of the ``batch`` highest scores among ``available`` (bool mask), best first;
    ties go to the lower index, so selection is deterministic given the scores."""
    candidates = np.flatnonzero(available)
    if batch > len(candidates):
        raise ValueError(f"cannot acquire {batch} of {len(candidates)} remaining candidates")
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order[:batch]]


class Acquisition:
    """Subclasses set ``name`` and implement :meth:`score` (or :meth:`select`)."""

    name: ClassVar[str]
    needs_model: ClassVar[bool] = True

    def samples_needed(self, batch: int) -> int:
        """Joint posterior samples this acquisition draws on (0: mean and std suffice)."""
        return 0

    def prepare(self, features: np.ndarray, rng: np.random.Generator) -> None:
        """Called once per campaign with the candidates' features (e.g. to build a noise field over them)."""

    def score(self, posterior: Posterior, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def select(self, posterior: Posterior | None, available: np.ndarray, batch: int,
               rng: np.random.Generator) -> np.ndarray:
        assert posterior is not None
        return top_available(self.score(posterior, rng), available, batch)
