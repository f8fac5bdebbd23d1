"""Per-cycle discovery metrics (DiscoBAX paper, Section 5; GeneDisco's top-K recall).

All take the acquisition order (candidate indices, first acquired first) and return one value per
cycle (after cycle c, the first c·B acquisitions count), computed for every cycle at once from the
rank at which each candidate was acquired:

- top-K recall: share of the K candidates with the largest true outcome that were acquired;
- diversity: share of the clusters holding a top-K candidate in which one was acquired, with
  clusters from a Gaussian mixture (20 components) on the first 20 principal components of the
  features, fitted once per data set (fewer components for small sets);
- overall: √(recall × diversity), high only when both are;
- expected max effect: E_η[max(0, max over acquired x of h(x, η))] with the true f (synthetic sets).
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture


def cluster_labels(features: np.ndarray, components: int = 20, pca_components: int = 20, seed: int = 0) -> np.ndarray:
    """GMM cluster of each candidate; at most one component per 10 candidates, at least one."""
    n, d = features.shape
    reduced = PCA(n_components=min(pca_components, d, n), random_state=seed).fit_transform(features)
    mixture = GaussianMixture(n_components=max(1, min(components, n // 10)), covariance_type="full",
                              reg_covar=1e-4, random_state=seed)
    return mixture.fit_predict(reduced)


def top_indices(outcome: np.ndarray, k: int) -> np.ndarray:
    """The k largest outcomes (ties to the lower index)."""
    return np.lexsort((np.arange(len(outcome)), -outcome))[:k]


def acquisition_rank(order: np.ndarray, size: int) -> np.ndarray:
    """Position at which each candidate was acquired; ``size`` (never) for the rest."""
    rank = np.full(size, size, dtype=int)
    rank[np.asarray(order)] = np.arange(len(order))
    return rank


def _counts(batch: int, cycles: int) -> np.ndarray:
    return batch * np.arange(1, cycles + 1)


def top_k_recall(order: np.ndarray, top: np.ndarray, size: int, batch: int, cycles: int) -> np.ndarray:
    rank = acquisition_rank(order, size)[top]
    return (rank[None, :] < _counts(batch, cycles)[:, None]).mean(axis=1)


def diversity(order: np.ndarray, top: np.ndarray, labels: np.ndarray, batch: int, cycles: int) -> np.ndarray:
    """Share of the top set's clusters hit by an acquired top candidate, per cycle."""
    rank = acquisition_rank(order, len(labels))[top]
    clusters, members = np.unique(labels[top], return_inverse=True)
    first = np.full(len(clusters), len(labels))
    np.minimum.at(first, members, rank)  # first acquisition of a top candidate in each cluster
    return (first[None, :] < _counts(batch, cycles)[:, None]).mean(axis=1)


def expected_max_effect(order: np.ndarray, h: np.ndarray, batch: int, cycles: int) -> np.ndarray:
    """E_η[max(0, max over the acquired of h)] per cycle, for h ``(L, N)`` from the true outcome."""
    running = np.maximum.accumulate(np.maximum(h[:, np.asarray(order)], 0.0), axis=1)  # (L, acquired)
    return running[:, _counts(batch, cycles) - 1].mean(axis=0)
