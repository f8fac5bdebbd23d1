"""Expected information gain about an algorithm's output, the BAX/InfoBAX estimator with Gaussian
entropies (Neiswanger et al. 2021), used by DiscoBAX and top-k BAX.

For each posterior sample f_j, the algorithm (SubsetSelect, or top-k) returns a set S_j. Following
InfoBAX's execution-path estimator, knowing the output is approximated by having *observed* the
outcomes at S_j (fantasised as noisy observations y_{S_j}). With Gaussian predictive distributions:

    EIG(x) = H[y_x | D] − (1/m) Σ_j H[y_x | D, y_{S_j}]
           = ½ log v(x) − (1/m) Σ_j ½ log( v(x) − c_j(x)ᵀ (C_j + σ² I)⁻¹ c_j(x) ),

with v(x) = Var[f(x) | D] + σ², c_j(x) = Cov[f(x), f(S_j) | D] and C_j = Cov[f(S_j), f(S_j) | D].
For a GP this is exact Gaussian conditioning, and the conditional variance does not depend on the
fantasised values, so the estimate needs only the sets. For a sampling model the covariances come
from its joint samples; conditioning on noisy (not noise-free) values keeps C_j + σ² I invertible
even when k exceeds the number of samples. A candidate whose outcome is already known has
v(x) ≈ σ² and gains ≈ 0; an uncertain candidate gains in proportion to how often it (or something
correlated with it) lands in the output sets.

``given`` conditions everything on fantasised noisy observations at a few more candidates (the
batch members chosen so far): then EIG(x | given) = I(y_x; output | D, y_given), the increment of
the batch's joint information I(y_batch; output) when x joins it (chain rule). Again only
covariances are needed, Σ ← Σ − Σ_{·g}(Σ_{gg} + σ² I)⁻¹Σ_{g·}.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from plasticlab.design.models.base import Posterior


def conditional_covariance(posterior: Posterior, given: np.ndarray | None
                           ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Var[f(x)] and Cov[f(x), f(columns)] for every candidate x, after noisy observations at ``given``."""
    variance = posterior.std**2
    if given is None or len(given) == 0:
        return variance, posterior.cross_covariance
    given = np.asarray(given)
    to_given = posterior.cross_covariance(given)  # (N, g)
    gram = to_given[given] + posterior.noise_variance * np.eye(len(given))
    weights = np.linalg.solve(gram, to_given.T)  # (g, N)

    def cross(columns: np.ndarray) -> np.ndarray:
        columns = np.asarray(columns)
        return posterior.cross_covariance(columns) - to_given @ weights[:, columns]

    return np.maximum(variance - np.einsum("ng,gn->n", to_given, weights), 0.0), cross


def information_gain(posterior: Posterior, output_sets: np.ndarray, given: np.ndarray | None = None) -> np.ndarray:
    """EIG(x) (nats) about the algorithm's output for every candidate; ``output_sets`` is ``(m, k)``.

    With ``given``, the gain conditional on noisy observations at those candidates as well."""
    output_sets = np.atleast_2d(output_sets)
    noise = posterior.noise_variance
    variance, cross_covariance = conditional_covariance(posterior, given)
    predictive = variance + noise  # v(x)
    cross = np.stack([cross_covariance(members) for members in output_sets])  # (m, N, k)
    within = np.take_along_axis(cross, output_sets[:, :, None], axis=1)  # (m, k, k)
    within = 0.5 * (within + within.transpose(0, 2, 1)) + noise * np.eye(output_sets.shape[1])
    solved = np.linalg.solve(within, cross.transpose(0, 2, 1))  # (m, k, N)
    explained = np.einsum("mnk,mkn->mn", cross, solved)
    conditional = np.clip(predictive - explained, noise, None)  # Var[y_x | y_S] ≥ σ² (fresh noise)
    return 0.5 * (np.log(predictive) - np.log(conditional).mean(axis=0))
