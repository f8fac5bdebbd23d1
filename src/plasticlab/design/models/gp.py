"""Exact Gaussian-process regression (the DiscoBAX paper's model on its synthetic tasks).

The prior is f ~ GP(m, s² k(·,·)) with one isotropic length scale ℓ, signal variance s² and
Gaussian observation noise σ². Two ways to set them:

- fixed (``fit: false``, ``normalise: false``): the DiscoBAX reference code's toy-task GP
  (``models/toy_experiment_models.py``, ``apps/toy_experiment.py``): zero prior mean on the raw
  outcomes, RBF with ℓ² = 0.1 (1-D sets; 1.0 on sine2d), s = 1.5, σ² = 0.01;
- fitted (the default here): outcomes standardised (m = their mean), then (ℓ, s², σ²) maximise the
  log marginal likelihood (L-BFGS on their logs, analytic gradient, warm-started from the
  previous cycle), which from a handful of points can land far from the truth.

The posterior over the candidates is exact, including the joint N × N covariance that posterior
samples need, so this model is meant for small candidate sets (``max_joint`` guards memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

from plasticlab.design.kernels import KERNELS, check_kernel, joint_normal, squared_distances
from plasticlab.design.models.base import Posterior


@dataclass
class GaussianProcess:
    kernel: str = "rbf"
    lengthscale: float = 1.0
    signal_variance: float = 1.0
    noise_variance: float = 0.1
    fit_hyperparameters: bool = True
    normalise: bool = True  # standardise the outcomes (prior mean = their mean); False: zero prior mean, raw units
    max_iterations: int = 50
    max_joint: int = 6000
    jitter: float = 1e-6

    def __post_init__(self) -> None:
        check_kernel(self.kernel)
        for name in ("lengthscale", "signal_variance", "noise_variance"):
            if not getattr(self, name) > 0:
                raise ValueError(f"GP {name} must be positive, got {getattr(self, name)}")
        self._train: tuple[np.ndarray, np.ndarray] | None = None

    def _gram(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.signal_variance * KERNELS[self.kernel](squared_distances(a, b, self.lengthscale))[0]

    def _negative_log_likelihood(self, log_params: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """−log p(y | ℓ, s², σ²) and its gradient in (log ℓ, log s², log σ²)."""
        ell, s2, n2 = np.exp(log_params)
        k, dk_dlog_ell = KERNELS[self.kernel](squared_distances(x, x, ell))
        gram = s2 * k + (n2 + self.jitter) * np.eye(len(y))
        try:
            factor = linalg.cho_factor(gram, lower=True)
        except linalg.LinAlgError:
            return 1e10, np.zeros(3)
        alpha = linalg.cho_solve(factor, y)
        inverse = linalg.cho_solve(factor, np.eye(len(y)))
        value = 0.5 * y @ alpha + np.log(np.diag(factor[0])).sum() + 0.5 * len(y) * np.log(2 * np.pi)
        outer = np.outer(alpha, alpha) - inverse  # d(log p)/dK = ½ (ααᵀ − K⁻¹)
        grads = [s2 * dk_dlog_ell, s2 * k, n2 * np.eye(len(y))]
        return float(value), -0.5 * np.array([(outer * g).sum() for g in grads])

    def fit(self, features: np.ndarray, outcomes: np.ndarray, rng: np.random.Generator | None = None) -> None:
        y = np.asarray(outcomes, dtype=float)
        self._offset, self._scale = (float(y.mean()), float(y.std()) or 1.0) if self.normalise else (0.0, 1.0)
        x, z = np.asarray(features, dtype=float), (y - self._offset) / self._scale
        if self.fit_hyperparameters and len(z) > 1:
            start = np.log([self.lengthscale, self.signal_variance, self.noise_variance])
            bounds = [(np.log(1e-2), np.log(1e2)), (np.log(1e-2), np.log(1e2)), (np.log(1e-6), np.log(10.0))]
            result = optimize.minimize(self._negative_log_likelihood, start, args=(x, z), jac=True, method="L-BFGS-B",
                                       bounds=bounds, options={"maxiter": self.max_iterations})
            self.lengthscale, self.signal_variance, self.noise_variance = (float(v) for v in np.exp(result.x))
        gram = self._gram(x, x) + (self.noise_variance + self.jitter) * np.eye(len(z))
        self._factor = linalg.cho_factor(gram, lower=True)
        self._alpha = linalg.cho_solve(self._factor, z)
        self._train = (x, z)

    def posterior(self, candidates: np.ndarray, samples: int, rng: np.random.Generator) -> Posterior:
        """Exact mean/covariance of f at the candidates (original outcome units) and joint draws."""
        if self._train is None:
            raise RuntimeError("GaussianProcess.posterior before fit")
        if len(candidates) > self.max_joint:
            raise ValueError(f"exact GP joint samples over {len(candidates)} candidates exceed max_joint={self.max_joint}; "
                             "use a sampling model (mc_dropout, ensemble) for large candidate sets")
        x_train, _ = self._train
        cross = self._gram(np.asarray(candidates, dtype=float), x_train)
        solved = linalg.cho_solve(self._factor, cross.T)
        mean = self._offset + self._scale * (cross @ self._alpha)
        covariance = self._scale**2 * (self._gram(candidates, candidates) - cross @ solved)
        std = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
        draws = mean + joint_normal(covariance, samples, rng) if samples else np.empty((0, len(mean)))
        return Posterior(mean=mean, std=std, samples=draws, noise_variance=self._scale**2 * self.noise_variance,
                         cross_covariance=lambda columns: covariance[:, np.asarray(columns)])

