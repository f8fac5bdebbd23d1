"""Outcome models: the GP posterior against the closed form; MC-dropout draws are coherent functions."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.design.models import build_model


def _rbf(a, b, ell):
    return np.exp(-0.5 * ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / ell**2)


def test_gp_posterior_matches_closed_form_with_fixed_hyperparameters():
    rng = np.random.default_rng(0)
    x, y, grid = rng.normal(size=(6, 2)), rng.normal(size=6) * 3 + 1, rng.normal(size=(5, 2))
    ell, s2, n2 = 0.7, 1.3, 0.05
    gp = build_model({"name": "gp", "kernel": "rbf", "lengthscale": ell, "signal_variance": s2, "noise_variance": n2, "fit": False})
    gp.fit(x, y, rng)
    post = gp.posterior(grid, 20000, rng)
    mu, sd = y.mean(), y.std()  # the GP works on standardised outcomes
    k = s2 * _rbf(x, x, ell) + (n2 + 1e-6) * np.eye(6)  # the model adds 1e-6 jitter
    cross = s2 * _rbf(grid, x, ell)
    mean = mu + sd * cross @ np.linalg.solve(k, (y - mu) / sd)
    cov = sd**2 * (s2 * _rbf(grid, grid, ell) - cross @ np.linalg.solve(k, cross.T))
    np.testing.assert_allclose(post.mean, mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(post.std, np.sqrt(np.diag(cov)), rtol=1e-5)
    np.testing.assert_allclose(post.cross_covariance(np.array([1, 3])), cov[:, [1, 3]], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(post.noise_variance, sd**2 * n2)
    np.testing.assert_allclose(np.cov(post.samples.T), cov, atol=0.05 * cov.max())  # joint draws have that covariance


def test_gp_without_normalising_is_the_zero_mean_textbook_posterior():
    # the reference code's toy GP: fixed ℓ² = 0.1, σ_f = 1.5, noise 0.01, zero prior mean on raw outcomes
    rng = np.random.default_rng(4)
    x, y, grid = rng.uniform(-1, 1, (5, 1)), rng.normal(size=5) + 2.0, np.linspace(-1, 1, 7)[:, None]
    ell, s2, n2 = np.sqrt(0.1), 2.25, 0.01
    gp = build_model({"name": "gp", "lengthscale": ell, "signal_variance": s2, "noise_variance": n2, "fit": False,
                      "normalise": False})
    gp.fit(x, y, rng)
    post = gp.posterior(grid, 0, rng)
    k = s2 * _rbf(x, x, ell) + (n2 + 1e-6) * np.eye(5)
    cross = s2 * _rbf(grid, x, ell)
    np.testing.assert_allclose(post.mean, cross @ np.linalg.solve(k, y), rtol=1e-8)
    np.testing.assert_allclose(post.std**2, s2 - np.einsum("ij,ji->i", cross, np.linalg.solve(k, cross.T)), rtol=1e-6)
    assert post.noise_variance == pytest.approx(n2)
    with pytest.raises(ValueError, match="lengthscale"):
        build_model({"name": "gp", "lengthscale": 0.0})


def test_gp_fit_raises_likelihood_and_learns_noise():
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, (60, 1))
    y = np.sin(2 * x[:, 0]) + 0.3 * rng.standard_normal(60)
    fixed = build_model({"name": "gp", "lengthscale": 5.0, "noise_variance": 1.0, "fit": False})
    fitted = build_model({"name": "gp", "lengthscale": 5.0, "noise_variance": 1.0})
    fixed.fit(x, y, rng)
    fitted.fit(x, y, rng)
    z = (y - y.mean()) / y.std()
    nll = lambda m: m._negative_log_likelihood(np.log([m.lengthscale, m.signal_variance, m.noise_variance]), x, z)[0]
    assert nll(fitted) < nll(fixed) - 10
    assert 0.3 < fitted.lengthscale < 1.5 and 0.02 < fitted.noise_variance * y.var() < 0.2  # true noise 0.09


def test_gp_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    for kernel in ("rbf", "matern52"):
        gp = build_model({"name": "gp", "kernel": kernel})
        theta = np.log([0.8, 1.2, 0.1])
        _, grad = gp._negative_log_likelihood(theta, x, y)
        numeric = [(gp._negative_log_likelihood(theta + e, x, y)[0] - gp._negative_log_likelihood(theta - e, x, y)[0]) / 2e-6
                   for e in 1e-6 * np.eye(3)]
        np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["mc_dropout", "ensemble"])
def test_mlp_models_fit_a_line_and_draw_coherent_functions(name):
    rng = np.random.default_rng(3)
    x = np.linspace(-1, 1, 40)[:, None]
    model = build_model({"name": name, "hidden": [16], "epochs": 300})
    model.fit(x, 3 * x[:, 0], rng)
    post = model.posterior(x, 64, rng)
    assert post.samples.shape == ((64 if name == "mc_dropout" else 5), 40)
    assert np.corrcoef(post.mean, 3 * x[:, 0])[0, 1] > 0.95
    # neighbouring candidates move together across draws (one mask / one member per draw)
    assert post.cross_covariance(np.array([20]))[21, 0] > 0.5 * post.std[20] * post.std[21]


def test_unknown_model_and_parameter_are_errors():
    with pytest.raises(KeyError, match="forest"):
        build_model({"name": "forest"})
    with pytest.raises(ValueError, match="widths"):
        build_model({"name": "mc_dropout", "widths": [3]})
