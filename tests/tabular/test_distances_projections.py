"""Distances against closed forms and SciPy; projections against the optimisation they solve."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from plasticlab.tabular.distances import cramer, uniform, wasserstein1
from plasticlab.tabular.projections import atoms_between, categorical_projection, quantile_projection


def test_distances_between_diracs_have_closed_forms():
    # W1(δa, δb) = |a − b|; Cramér: (∫ 1² over [a, b])^½ = √|a − b|
    assert wasserstein1([1.0], [1.0], [4.0], [1.0]) == pytest.approx(3.0)
    assert cramer([1.0], [1.0], [4.0], [1.0]) == pytest.approx(np.sqrt(3.0))


def test_distances_match_scipy_on_random_discrete_distributions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=7), rng.normal(1.0, 2.0, size=11)
    pa, pb = rng.dirichlet(np.ones(7)), rng.dirichlet(np.ones(11))
    assert wasserstein1(a, pa, b, pb) == pytest.approx(stats.wasserstein_distance(a, b, pa, pb))
    # SciPy's energy distance in 1D is √2 × the Cramér (ℓ2) distance
    assert cramer(a, pa, b, pb) == pytest.approx(stats.energy_distance(a, b, pa, pb) / np.sqrt(2.0))


def test_w1_of_a_shift_is_the_shift_and_of_a_two_point_law_is_known():
    x = np.array([0.0, 1.0, 5.0])
    assert wasserstein1(x, uniform(x), x + 0.3, uniform(x)) == pytest.approx(0.3)
    # W1(½δ0 + ½δ2, δ1) = ½·1 + ½·1 = 1; Cramér² = ∫₀¹ ¼ + ∫₁² ¼ = ½
    assert wasserstein1([0.0, 2.0], [0.5, 0.5], [1.0], [1.0]) == pytest.approx(1.0)
    assert cramer([0.0, 2.0], [0.5, 0.5], [1.0], [1.0]) == pytest.approx(np.sqrt(0.5))


def _cdf(values, probs, grid):
    return (probs[None, :] * (values[None, :] <= grid[:, None])).sum(axis=1)


def test_categorical_projection_is_the_cramer_projection():
    """On the grid, the ℓ2-closest CDF is the interval average of the target CDF (a closed form
    independent of the hat-function split); no random grid distribution is closer."""
    rng = np.random.default_rng(1)
    atoms = atoms_between(-1.0, 2.0, 7)
    values, probs = rng.uniform(-1.5, 2.5, size=9), rng.dirichlet(np.ones(9))
    projected = categorical_projection(values, probs, atoms)
    assert projected.sum() == pytest.approx(1.0) and (projected >= 0).all()
    fine = np.linspace(atoms[0], atoms[-1], 200_001)
    target_cdf = _cdf(values, probs, fine)
    interval = np.minimum(np.searchsorted(atoms, fine, side="right") - 1, len(atoms) - 2)
    averages = np.bincount(interval, weights=target_cdf) / np.bincount(interval)
    np.testing.assert_allclose(np.cumsum(projected)[:-1], averages, atol=1e-4)
    best = cramer(values, probs, atoms, projected)
    for _ in range(200):
        other = rng.dirichlet(np.ones(len(atoms)))
        mix = 0.9 * projected + 0.1 * other
        assert cramer(values, probs, atoms, other) > best and cramer(values, probs, atoms, mix) > best


def test_quantile_projection_is_a_w1_projection():
    rng = np.random.default_rng(2)
    values, probs = rng.normal(size=50), rng.dirichlet(np.ones(50))
    theta = quantile_projection(values, probs, 5)
    best = wasserstein1(values, probs, theta, uniform(theta))
    for _ in range(300):
        other = np.sort(theta + rng.normal(0.0, 0.2, size=5))
        assert wasserstein1(values, probs, other, uniform(other)) >= best - 1e-12
    # a uniform sample 0..99 at τ = 0.1, 0.3, ..., 0.9: the CDF equals τ on [9, 10), etc.; midpoints
    grid = np.arange(100.0)
    np.testing.assert_array_equal(quantile_projection(grid, uniform(grid), 5), [9.5, 29.5, 49.5, 69.5, 89.5])
    np.testing.assert_array_equal(quantile_projection(grid[:99], uniform(grid[:99]), 3), [16.0, 49.0, 82.0])


def test_categorical_projection_keeps_the_mean_inside_the_support():
    atoms = atoms_between(0.0, 10.0, 11)
    values, probs = np.array([0.25, 3.7, 9.99]), np.array([0.2, 0.5, 0.3])
    assert categorical_projection(values, probs, atoms) @ atoms == pytest.approx(values @ probs)
    assert categorical_projection(np.array([-5.0, 20.0]), np.array([0.5, 0.5]), atoms)[[0, -1]] == pytest.approx([0.5, 0.5])
