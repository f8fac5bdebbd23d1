"""SubsetSelect: greedy against brute force on tiny instances; η's statistics against its kernel."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy.special import expit

from plasticlab.design.subset_select import greedy, noise_model, set_value, subset_select

RBF_1 = {"kernel": "rbf", "lengthscale": 1.0}


def _brute_force(h: np.ndarray, size: int) -> float:
    return max(set_value(h, np.array(s)) for s in combinations(range(h.shape[-1]), size))


@pytest.mark.parametrize("noise, scale, correlation", [("additive", 1.0, "iid"), ("multiplicative", 1.5, "iid"),
                                                       ("additive", 1.0, RBF_1), ("multiplicative", 1.5, RBF_1)])
def test_greedy_is_within_1_minus_1_over_e_of_brute_force(noise, scale, correlation):
    rng = np.random.default_rng(0)
    field = noise_model(noise, scale, correlation).over(rng.uniform(0, 4, (8, 1)))
    ratios = []
    for trial in range(30):
        f = rng.normal(size=(1, 8))
        h = field.h(f[:, None, :], field.latent(rng, 40)[None], rng)
        for size in (2, 3):
            best = _brute_force(h[0], size)
            got = float(set_value(h[0], greedy(h, size)[0]))
            assert got >= (1 - 1 / np.e) * best - 1e-12 and got <= best + 1e-12
            ratios.append(got / best if best > 0 else 1.0)
    assert np.mean(ratios) > 0.97  # usually optimal in practice


def test_greedy_is_optimal_without_noise_and_diversifies_under_noise():
    f = np.array([[0.5, 2.8, 3.0, 1.0, 2.9]])
    # without noise the best alone is optimal; the saturated set is filled by the next best, in order
    assert greedy(f[:, None, :], 3)[0].tolist() == [2, 4, 1]
    # Two perfectly correlated copies of the best (same η) add nothing; an independent second-best does.
    eta = np.random.default_rng(1).normal(0, 1.0, (1, 500, 3))
    eta[..., 1] = eta[..., 0]
    h = np.maximum(0.0, np.array([1.0, 1.0, 0.8])[None, None, :] + eta)
    assert greedy(h, 2)[0].tolist() == [0, 2]
    assert set_value(h[0], np.array([0, 2])) == pytest.approx(_brute_force(h[0], 2))


@pytest.mark.parametrize("noise, scale", [("additive", 1.0), ("multiplicative", 2.0)])
def test_correlated_noise_makes_the_second_pick_a_different_peak(noise, scale):
    # peak A: two neighbours (x = 0, 0.05) with f = 1.0, 0.99; peak B: x = 10 with f = 0.95.
    x, f = np.array([[0.0], [0.05], [10.0]]), np.array([1.0, 0.99, 0.95])
    rng = np.random.default_rng(2)
    picks = {}
    for correlation in ("iid", RBF_1):
        field = noise_model(noise, scale, correlation).over(x)
        picks[str(correlation)] = subset_select(f[None, :], field, 2, 4000, rng)[0].tolist()
    assert picks[str(RBF_1)] == [0, 2]  # the neighbour fails with the best: no backup, so take peak B
    assert picks["iid"] == [0, 1]  # with independent η the near-copy is the better backup


def test_additive_eta_has_the_kernel_covariance():
    x = np.array([[0.0], [0.3], [1.0], [2.5], [6.0]])
    scale, ell = 0.7, 1.3
    field = noise_model("additive", scale, {"kernel": "rbf", "lengthscale": ell}).over(x)
    z = field.latent(np.random.default_rng(3), 40_000)
    h = field.h(np.zeros(5), z, np.random.default_rng(0))  # f = 0: h = max(0, η)
    expected = scale**2 * np.exp(-0.5 * (x - x.T) ** 2 / ell**2)
    np.testing.assert_allclose(np.cov((scale * z).T), expected, atol=0.02)
    np.testing.assert_allclose(h.mean(axis=0), scale / np.sqrt(2 * np.pi), atol=0.01)  # E[max(0, η)] = σ/√(2π)
    iid = noise_model("additive", scale, "iid").over(x).latent(np.random.default_rng(4), 40_000)
    np.testing.assert_allclose(np.cov((scale * iid).T), scale**2 * np.eye(5), atol=0.02)


def test_multiplicative_successes_are_correlated_as_the_logit_kernel_implies():
    # b_i ~ Bernoulli(σ(s z_i)), z ~ GP: P(b_i = 1) = ½ and Cov(b_i, b_j) = E[σ(s z_i) σ(s z_j)] − ¼,
    # computed here by Gauss–Hermite quadrature over (z_i, z_j) with correlation ρ = k(x_i, x_j).
    x, scale = np.array([[0.0], [0.5], [4.0]]), 1.5
    field = noise_model("multiplicative", scale, RBF_1).over(x)
    rng = np.random.default_rng(5)
    b = field.h(np.ones(3), field.latent(rng, 200_000), rng)  # f = 1: h = b
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()

    def covariance(rho: float) -> float:
        z1, z2 = nodes[:, None], rho * nodes[:, None] + np.sqrt(1 - rho**2) * nodes[None, :]
        return float((weights[:, None] * weights[None, :] * expit(scale * z1) * expit(scale * z2)).sum()) - 0.25

    np.testing.assert_allclose(b.mean(axis=0), 0.5, atol=0.005)
    cov = np.cov(b.T)
    for i, j in [(0, 1), (0, 2)]:
        rho = float(np.exp(-0.5 * (x[i, 0] - x[j, 0]) ** 2))
        assert cov[i, j] == pytest.approx(covariance(rho), abs=0.004)
    assert cov[0, 1] > 0.05 and abs(cov[0, 2]) < 0.005  # near: tied (Var b = ¼); far: independent


def test_subset_select_runs_per_sample_and_in_blocks():
    rng = np.random.default_rng(2)
    values = rng.normal(size=(7, 50))
    field = noise_model("additive", 0.0).over(np.zeros((50, 1)))
    sets = subset_select(values, field, 4, 3, rng)
    assert sets.shape == (7, 4)  # noise-free: each sample's top-4, best first
    np.testing.assert_array_equal(sets, np.argsort(-values, axis=1)[:, :4])


def test_bad_noise_settings_are_errors():
    with pytest.raises(KeyError, match="gumbel"):
        noise_model("gumbel", 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        noise_model("additive", -1.0)
    with pytest.raises(KeyError, match="cosine"):
        noise_model("additive", 1.0, {"kernel": "cosine", "lengthscale": 1.0})
    with pytest.raises(ValueError, match="length scale"):
        noise_model("additive", 1.0, {"kernel": "rbf", "lengthscale": 0.0})
    with pytest.raises(ValueError, match="iid"):
        noise_model("additive", 1.0, "gp")
