"""Projections onto the two finite representations of distributional RL.

*Categorical* (Bellemare et al. 2017; Rowland et al. 2018): evenly spaced atoms z₀ < … < z_{K−1};
the mass at y splits between its two neighbouring atoms in proportion to closeness (all of it to
the end atom outside the range). This is the Cramér-ℓ2 projection onto distributions on the grid.
*Quantile* (Dabney et al. 2018): m equal-weight atoms at the τᵢ = (2i−1)/(2m) quantiles, the
Wasserstein-1 projection onto such distributions.
"""

from __future__ import annotations

import numpy as np


def atoms_between(low: float, high: float, n_atoms: int) -> np.ndarray:
    if n_atoms < 2 or not high > low:
        raise ValueError(f"need at least two atoms on a non-empty range, got {n_atoms} on [{low}, {high}]")
    return np.linspace(low, high, n_atoms)


def hat_split(values: np.ndarray, atoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each value y: the index l of the atom at or below it and the share w going to atom l+1.

    y ↦ (1 − w) δ_{z_l} + w δ_{z_{l+1}}, with y clipped into [z₀, z_{K−1}] first; l ≤ K−2 always.
    """
    spacing = atoms[1] - atoms[0]
    position = (np.clip(values, atoms[0], atoms[-1]) - atoms[0]) / spacing
    lower = np.minimum(np.floor(position).astype(np.int64), len(atoms) - 2)
    return lower, position - lower


def categorical_projection(values: np.ndarray, probs: np.ndarray, atoms: np.ndarray) -> np.ndarray:
    """Π_C of the distribution Σ probs·δ_values onto ``atoms``: probabilities of shape ``(K,)``."""
    values, probs = np.broadcast_arrays(np.asarray(values, float), np.asarray(probs, float))
    values, probs = values.ravel(), probs.ravel()
    lower, upper_share = hat_split(values, atoms)
    out = np.bincount(lower, weights=probs * (1.0 - upper_share), minlength=len(atoms))
    out += np.bincount(lower + 1, weights=probs * upper_share, minlength=len(atoms))
    return out


def quantile_projection(values: np.ndarray, probs: np.ndarray, m: int) -> np.ndarray:
    """Π_Q: the τᵢ-quantiles of Σ probs·δ_values, i = 1..m.

    Where the CDF equals τᵢ exactly on an interval [v_k, v_{k+1}) every point of it is W1-optimal;
    we take the midpoint of the lower and upper quantiles, inf{y : F(y) ≥ τ} and inf{y : F(y) > τ}.
    Mixtures of N·m equal atoms hit such ties at every level, and always taking the lower end biases
    quantile DP downwards at each of its ~1/(1 − γ) effective steps.
    """
    values, probs = np.broadcast_arrays(np.asarray(values, float), np.asarray(probs, float))
    values, probs = values.ravel(), probs.ravel()
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(probs[order]) / probs.sum()
    levels = (2.0 * np.arange(1, m + 1) - 1.0) / (2.0 * m)
    last = len(values) - 1
    lower = np.minimum(np.searchsorted(cdf, levels - 1e-12, side="left"), last)
    upper = np.minimum(np.searchsorted(cdf, levels + 1e-12, side="right"), last)
    return 0.5 * (values[order][lower] + values[order][upper])
