"""How a BAX method turns per-candidate information into a batch of B acquisitions.

- ``top``: the B highest EIG(x) (GeneDisco's and the DiscoBAX code's ``topk_EIG``). On a smooth
  surface the B best sit next to each other on one peak: B near-copies of one experiment.
- ``greedy``: pick x₁ = argmax EIG(x), then fantasise a noisy observation there and take the
  candidate with the largest EIG *given* it, and so on: greedy maximisation of the batch's joint
  information I(y_batch; output) by the chain rule (as BatchBALD does for model parameters).
  A neighbour of a chosen candidate has little information left once that candidate is
  fantasised, so the batch spreads over the peaks. With B = 1 both rules agree.

The reference code's third mode (``best_subset``: acquire the sampled output set that holds the
argmax) is not offered: it needs B = k and acquires already-measured members as well.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from plasticlab.design.acquisitions.base import top_available
from plasticlab.design.acquisitions.information import information_gain
from plasticlab.design.models.base import Posterior

BatchRule = Callable[[Posterior, np.ndarray, np.ndarray, int], np.ndarray]


def top_information(posterior: Posterior, output_sets: np.ndarray, available: np.ndarray, batch: int) -> np.ndarray:
    return top_available(information_gain(posterior, output_sets), available, batch)


def greedy_information(posterior: Posterior, output_sets: np.ndarray, available: np.ndarray, batch: int) -> np.ndarray:
    """B picks, each the best available candidate given noisy fantasies at the earlier ones."""
    remaining = available.copy()
    picks: list[int] = []
    for _ in range(batch):
        gain = information_gain(posterior, output_sets, given=np.asarray(picks, dtype=int))
        pick = int(top_available(gain, remaining, 1)[0])
        picks.append(pick)
        remaining[pick] = False
    return np.asarray(picks, dtype=int)


BATCH_RULES: dict[str, BatchRule] = {"top": top_information, "greedy": greedy_information}


def batch_rule(name: str) -> BatchRule:
    if name not in BATCH_RULES:
        raise KeyError(f"unknown batch rule {name!r}; available: {', '.join(sorted(BATCH_RULES))}")
    return BATCH_RULES[name]


def joint_information(posterior: Posterior, output_sets: np.ndarray, members: np.ndarray) -> float:
    """I(y_members; output) by the chain rule: Σ_i EIG(x_i | x_1 … x_{i−1})."""
    members = np.asarray(members, dtype=int)
    return float(sum(information_gain(posterior, output_sets, given=members[:i])[members[i]]
                     for i in range(len(members))))
