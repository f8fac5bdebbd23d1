"""Distances between distributions on the real line, exactly, for finitely supported ones.

Both are integrals of the CDF difference: Wasserstein-1 = ∫|F − G|, Cramér (ℓ2) = (∫(F − G)²)^½.
Between atoms of the merged support F − G is constant, so the integrals are finite sums. The
categorical projection is the ℓ2 projection (Rowland et al. 2018); the DCFP paper reports W1.
"""

from __future__ import annotations

import numpy as np


def _cdf_gaps(atoms_a: np.ndarray, probs_a: np.ndarray, atoms_b: np.ndarray, probs_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|F_a − F_b| on each interval between consecutive merged atoms, and the interval widths."""
    atoms_a, atoms_b = np.asarray(atoms_a, float), np.asarray(atoms_b, float)
    probs_a = np.broadcast_to(np.asarray(probs_a, float), atoms_a.shape)
    probs_b = np.broadcast_to(np.asarray(probs_b, float), atoms_b.shape)
    support = np.concatenate([atoms_a, atoms_b])
    mass = np.concatenate([probs_a, -probs_b])  # F_a − F_b jumps by +p_a and −p_b
    order = np.argsort(support, kind="stable")
    support, difference = support[order], np.cumsum(mass[order])
    return np.abs(difference[:-1]), np.diff(support)


def wasserstein1(atoms_a: np.ndarray, probs_a: np.ndarray, atoms_b: np.ndarray, probs_b: np.ndarray) -> float:
    """W1 = ∫ |F_a(t) − F_b(t)| dt for two finitely supported distributions."""
    gaps, widths = _cdf_gaps(atoms_a, probs_a, atoms_b, probs_b)
    return float(np.sum(gaps * widths))


def cramer(atoms_a: np.ndarray, probs_a: np.ndarray, atoms_b: np.ndarray, probs_b: np.ndarray) -> float:
    """Cramér (ℓ2) distance (∫ (F_a(t) − F_b(t))² dt)^½."""
    gaps, widths = _cdf_gaps(atoms_a, probs_a, atoms_b, probs_b)
    return float(np.sqrt(np.sum(gaps**2 * widths)))


def uniform(atoms: np.ndarray) -> np.ndarray:
    """Equal weights for a sample or a quantile representation."""
    return np.full(np.shape(atoms), 1.0 / np.size(atoms))
