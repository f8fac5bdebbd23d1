"""Statistics over seeds as pure functions on arrays (the rliable style).

Shapes: ``samples`` is ``(..., n_seeds)``; every function reduces the last axis and is
vectorised over the leading ones, so a whole table is one call.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% (scipy.stats.trim_mean(x, 0.25))."""
    x = np.sort(np.moveaxis(np.asarray(x, dtype=float), axis, -1), axis=-1)
    n = x.shape[-1]
    cut = int(np.floor(0.25 * n))
    return x[..., cut : n - cut].mean(axis=-1)


STATISTICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda x: np.mean(x, axis=-1),
    "median": lambda x: np.median(x, axis=-1),
    "iqm": lambda x: iqm(x, axis=-1),
}


def bootstrap_ci(samples: np.ndarray, statistic: str = "mean", n_boot: int = 10_000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap confidence interval of ``statistic`` over the last axis.

    Seeds are resampled with replacement; the same resampling indices are used for every
    leading position, which keeps groups comparable and the result deterministic for ``seed``.
    """
    samples = np.asarray(samples, dtype=float)
    if np.isnan(samples).any():
        raise ValueError("bootstrap_ci: samples contain NaN (a diverged or missing run?)")
    try:
        reduce = STATISTICS[statistic]
    except KeyError:
        raise KeyError(f"unknown statistic {statistic!r}; available: {', '.join(STATISTICS)}") from None
    n = samples.shape[-1]
    if n == 1:
        value = samples[..., 0]
        return value.copy(), value.copy()
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(n_boot, n))
    resampled = samples[..., index]  # (..., n_boot, n)
    estimates = reduce(resampled)  # (..., n_boot)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(estimates, [alpha, 1.0 - alpha], axis=-1)
    return low, high


def paired_bootstrap_ci(a: np.ndarray, b: np.ndarray, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """CI of mean(a − b) where a and b are paired by seed (same last axis)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal shapes, got {a.shape} and {b.shape}")
    return bootstrap_ci(a - b, **kwargs)
