"""Categorical / quantile DP and DCFP: fixed points, agreement, and the truth on exact cases."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.tabular import build_mrp, categorical_dp, dcfp, empirical_model, quantile_dp, true_model
from plasticlab.tabular.categorical_dp import CategoricalOperator
from plasticlab.tabular.distances import uniform, wasserstein1
from plasticlab.tabular.representation import paper_support as support
from plasticlab.tabular.monte_carlo import sample_returns
from plasticlab.tabular.projections import atoms_between, categorical_projection, quantile_projection
from plasticlab.tabular.quantile_dp import quantile_bellman


@pytest.fixture(scope="module")
def sampled_model():
    mrp = build_mrp({"name": "random", "states": 6, "concentration": 0.7, "env_seed": 2}, 0.9, {"name": "two_point", "scale": 0.3})
    return mrp, empirical_model(mrp, 20, np.random.default_rng(0))


def test_dcfp_equals_the_limit_of_categorical_dp_and_is_its_fixed_point(sampled_model):
    mrp, model = sampled_model
    atoms = atoms_between(*support(mrp.reward_bounds(), mrp.gamma), 21)
    direct = dcfp(model, atoms)
    iterated, iterations = categorical_dp(model, atoms, tol=1e-13)
    assert iterations > 50  # the iteration really had work to do
    np.testing.assert_allclose(np.cumsum(direct, axis=1), np.cumsum(iterated, axis=1), atol=1e-8)
    np.testing.assert_allclose(CategoricalOperator(model, atoms)(direct), direct, atol=1e-10)
    assert (direct > -1e-12).all() and np.allclose(direct.sum(axis=1), 1.0)


def test_one_categorical_bellman_step_matches_projecting_each_state_by_hand(sampled_model):
    _, model = sampled_model
    atoms = atoms_between(-1.0, 12.0, 9)
    probs = np.random.default_rng(1).dirichlet(np.ones(9), size=model.n_states)
    stepped = CategoricalOperator(model, atoms)(probs)
    for x in range(model.n_states):
        values = model.rewards[x][:, None] + model.gamma * atoms[None, :]
        weights = model.weights[x][:, None] * probs[model.next_states[x]]
        np.testing.assert_allclose(stepped[x], categorical_projection(values, weights, atoms), atol=1e-12)


def test_categorical_fixed_point_keeps_the_exact_value():
    """The categorical projection preserves the mean inside the support, so the fixed point of the
    true model has mean exactly V = (I − γP)⁻¹ r̄ (Rowland et al. 2018, Prop. 1)."""
    mrp = build_mrp({"name": "random", "states": 5, "concentration": 1.0, "env_seed": 4}, 0.8)
    atoms = atoms_between(*support(mrp.reward_bounds(), mrp.gamma), 11)
    np.testing.assert_allclose(dcfp(true_model(mrp), atoms) @ atoms, mrp.values(), atol=1e-10)


def test_quantile_dp_on_a_one_step_return_gives_its_quantiles():
    """γ = 0: the return is the reward, r̄ ± 0.5 w.p. ½ each; quantile DP returns its τ-quantiles."""
    mrp = build_mrp({"name": "two_state", "stay": 0.3}, 0.0, {"name": "two_point", "scale": 0.5})
    theta, _ = quantile_dp(true_model(mrp), 4)
    np.testing.assert_allclose(theta, [[0.5, 0.5, 1.5, 1.5], [-0.5, -0.5, 0.5, 0.5]])


def test_quantile_bellman_matches_projecting_each_state_by_hand(sampled_model):
    """Both the equal-weight (order statistics) path and the weighted path against the projection."""
    mrp, model = sampled_model
    theta = np.random.default_rng(4).normal(size=(model.n_states, 6))
    for m in (model, true_model(mrp)):
        stepped = quantile_bellman(m, theta)
        for x in range(m.n_states):
            values = m.rewards[x][:, None] + m.gamma * theta[m.next_states[x]]
            expected = quantile_projection(values, m.weights[x][:, None] * np.ones((1, 6)), 6)
            np.testing.assert_allclose(stepped[x], expected, atol=1e-12)


def test_all_methods_approach_the_true_return_distribution():
    """With many atoms on the true model, each method is close in W1 to a large Monte Carlo sample;
    and the Monte Carlo truth itself has the exact mean."""
    mrp = build_mrp({"name": "two_state", "stay": 0.5}, 0.8)
    truth = sample_returns(mrp, 20_000, np.random.default_rng(3))
    np.testing.assert_allclose(truth.mean(axis=1), mrp.values(), atol=0.03)
    model = true_model(mrp)
    atoms = atoms_between(*support(mrp.reward_bounds(), mrp.gamma), 201)
    categorical = dcfp(model, atoms)
    theta, _ = quantile_dp(model, 100, tol=1e-10)
    for x in range(2):
        assert wasserstein1(atoms, categorical[x], truth[x], uniform(truth[x])) < 0.05
        assert wasserstein1(theta[x], uniform(theta[x]), truth[x], uniform(truth[x])) < 0.05
    coarse = dcfp(model, atoms_between(0.0, 5.0, 3))
    assert wasserstein1(atoms_between(0.0, 5.0, 3), coarse[0], truth[0], uniform(truth[0])) > 0.1  # the test can fail


def test_dcfp_error_falls_with_more_samples():
    mrp = build_mrp({"name": "chain", "states": 4, "forward": 0.8}, 0.9)
    atoms = atoms_between(*support(mrp.reward_bounds(), mrp.gamma), 31)
    exact = dcfp(true_model(mrp), atoms)
    rng = np.random.default_rng(7)

    def error(n: int) -> float:
        return np.mean([max(wasserstein1(atoms, p, atoms, q) for p, q in zip(dcfp(empirical_model(mrp, n, rng), atoms), exact))
                        for _ in range(10)])

    assert error(300) < 0.5 * error(10)
