"""Stationary kernels and joint Gaussian draws, shared by the GP outcome model and SubsetSelect's
correlated noise η (both are Gaussian processes over the candidates' features).

Every kernel is a correlation function of r² = ‖a − b‖²/ℓ² (k(0) = 1); a caller scales it by its
variance. Note on units: the DiscoBAX reference code's ``rbf(x, y, lengthscale)`` divides the
squared distance by its ``lengthscale`` argument, i.e. that argument is ℓ²; here ℓ is a length.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def _rbf(sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """k(r²) = exp(−r²/2) and its derivative in log ℓ."""
    k = np.exp(-0.5 * sq)
    return k, k * sq


def _matern52(sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matérn-5/2: k(r) = (1 + √5 r + 5r²/3) e^{−√5 r}, and its derivative in log ℓ."""
    r = np.sqrt(np.maximum(sq, 0.0))
    e = np.exp(-np.sqrt(5.0) * r)
    k = (1.0 + np.sqrt(5.0) * r + 5.0 / 3.0 * sq) * e
    return k, 5.0 / 3.0 * sq * (1.0 + np.sqrt(5.0) * r) * e


KERNELS: dict[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]] = {"rbf": _rbf, "matern52": _matern52}


def check_kernel(name: str) -> None:
    if name not in KERNELS:
        raise KeyError(f"unknown kernel {name!r}; available: {', '.join(sorted(KERNELS))}")


def squared_distances(a: np.ndarray, b: np.ndarray, lengthscale: float) -> np.ndarray:
    """‖a_i − b_j‖²/ℓ² for rows of ``a`` ``(n, d)`` and ``b`` ``(m, d)``."""
    a, b = np.asarray(a, dtype=float) / lengthscale, np.asarray(b, dtype=float) / lengthscale
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)


def correlation(name: str, a: np.ndarray, b: np.ndarray, lengthscale: float) -> np.ndarray:
    """The kernel's correlation matrix between the rows of ``a`` and ``b``."""
    check_kernel(name)
    if not lengthscale > 0:
        raise ValueError(f"kernel length scale must be positive, got {lengthscale}")
    return KERNELS[name](squared_distances(a, b, lengthscale))[0]


def joint_normal_factor(covariance: np.ndarray) -> np.ndarray:
    """A lower-triangular L with L Lᵀ ≈ covariance, adding jitter only as far as the Cholesky needs
    (a smooth kernel on a dense grid is numerically singular)."""
    scale = float(np.mean(np.diag(covariance))) or 1.0
    for jitter in (1e-8, 1e-6, 1e-4, 1e-2):
        try:
            return np.linalg.cholesky(covariance + jitter * scale * np.eye(len(covariance)))
        except np.linalg.LinAlgError:
            continue
    raise np.linalg.LinAlgError("covariance is not positive definite even with jitter")


def joint_normal(covariance: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """``samples`` draws of N(0, covariance), shape ``(samples, N)``."""
    return rng.standard_normal((samples, len(covariance))) @ joint_normal_factor(covariance).T
