"""Zero-mean reward noise added to each state's mean reward (Rowland et al. 2023, Sec. 6).

The QTD paper varies how stochastic rewards are, from none to heavy-tailed: TD's update grows with
the reward, QTD's is bounded by the step size, so the noise type is what separates them. Each
noise is scaled so its standard deviation is ``scale`` (where it has one), so "more noise" means the
same thing for every type. Noises with finite support also say what it is, for exact computations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Sampler = Callable[[np.random.Generator, tuple[int, ...], float], np.ndarray]


@dataclass(frozen=True)
class Noise:
    """A noise family: ``sample(rng, shape, scale)``, its support (if finite) and a bound (if any)."""

    sample: Sampler
    support: Callable[[float], tuple[np.ndarray, np.ndarray]] | None = None  # (values, probabilities)
    bound: Callable[[float], float] | None = None  # |noise| ≤ bound(scale); None if unbounded


def _student_t(rng: np.random.Generator, shape: tuple[int, ...], scale: float, df: float = 3.0) -> np.ndarray:
    # t with 3 degrees of freedom has variance 3; dividing by √3 gives unit variance but heavy tails
    return scale * rng.standard_t(df, size=shape) / np.sqrt(df / (df - 2.0))


NOISES: dict[str, Noise] = {
    "none": Noise(sample=lambda rng, shape, scale: np.zeros(shape),
                  support=lambda scale: (np.zeros(1), np.ones(1)), bound=lambda scale: 0.0),
    "gaussian": Noise(sample=lambda rng, shape, scale: scale * rng.standard_normal(shape)),
    "heavy_tailed": Noise(sample=_student_t),
    # Exponential(1) − 1: mean 0, variance 1, skewed to the right.
    "skewed": Noise(sample=lambda rng, shape, scale: scale * (rng.standard_exponential(shape) - 1.0)),
    # ±scale with probability ½ each: the bimodal ("multimodal") case.
    "two_point": Noise(sample=lambda rng, shape, scale: scale * (2.0 * rng.integers(0, 2, size=shape) - 1.0),
                       support=lambda scale: (np.array([-scale, scale]), np.array([0.5, 0.5])),
                       bound=lambda scale: scale),
    "uniform": Noise(sample=lambda rng, shape, scale: scale * np.sqrt(3.0) * rng.uniform(-1.0, 1.0, size=shape),
                     bound=lambda scale: scale * np.sqrt(3.0)),
}


def get_noise(name: str) -> Noise:
    try:
        return NOISES[name]
    except KeyError:
        raise KeyError(f"unknown reward noise {name!r}; available: {', '.join(sorted(NOISES))}") from None
