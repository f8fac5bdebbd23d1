"""TD and QTD against exact answers on small MRPs, and the vectorised grid against a per-slice loop."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.tabular import build_mrp, learners_for, qtd, run_grid, td
from plasticlab.tabular.mrp import MRP
from plasticlab.tabular.step_sizes import make_schedule


def _learn(mrp: MRP, learner: str, steps: int, alpha: float, seeds: int, m: int = 1, decay: bool = False) -> np.ndarray:
    rng = np.random.default_rng(0)
    module = {"td": td, "qtd": qtd}[learner]
    table = td.init((seeds,), mrp.n_states) if learner == "td" else qtd.init((seeds,), mrp.n_states, m)
    schedule = make_schedule({"name": "polynomial", "power": 1.0, "offset": 20.0} if decay else None)
    for t in range(steps):
        rewards, next_states = mrp.sample(rng, (seeds,))
        table = module.update(table, rewards, module.gather_next(table, next_states), alpha * schedule(t), mrp.gamma)
    return table


def test_exact_values_solve_the_bellman_equation():
    mrp = build_mrp({"name": "random", "states": 6, "concentration": 0.5, "env_seed": 3}, 0.9)
    v = mrp.values()
    np.testing.assert_allclose(v, mrp.reward_mean + 0.9 * mrp.transitions @ v, atol=1e-12)
    # two-state MRP that swaps states: V0 = (1 + γ·0)/(1 − γ²) = 1/0.19
    swap = build_mrp({"name": "two_state", "stay": 0.0}, 0.9)
    assert swap.values()[0] == pytest.approx(1.0 / 0.19)


def test_td_with_decaying_steps_converges_to_the_exact_value():
    mrp = build_mrp({"name": "random", "states": 4, "concentration": 1.0, "env_seed": 1}, 0.5, {"name": "gaussian", "scale": 1.0})
    values = _learn(mrp, "td", 3000, 0.5, seeds=64, decay=True)
    assert np.abs(values.mean(axis=0) - mrp.values()).max() < 0.05
    assert np.abs(values.mean(axis=0) - mrp.values()).max() < 0.2 * np.abs(mrp.values()).max()


def test_qtd_converges_to_the_quantiles_of_a_known_return_distribution():
    """γ = 0 and a two-point reward ±1 around mean 1: the return is 0 or 2 w.p. ½ each. With m = 4
    (τ = 1/8, 3/8, 5/8, 7/8) QTD's fixed point is (0, 0, 2, 2), with mean 1 = the value."""
    mrp = build_mrp({"name": "two_state", "stay": 0.5}, 0.0, {"name": "two_point", "scale": 1.0})
    theta = _learn(mrp, "qtd", 4000, 0.01, seeds=8, m=4)
    expected = np.array([[0.0, 0.0, 2.0, 2.0], [-1.0, -1.0, 1.0, 1.0]])
    np.testing.assert_allclose(np.median(theta, axis=0), expected, atol=0.1)
    np.testing.assert_allclose(qtd.estimate(theta).mean(axis=0), mrp.values(), atol=0.1)


def test_qtd_value_estimate_approaches_the_exact_value_with_discounting():
    mrp = build_mrp({"name": "chain", "states": 3, "forward": 0.7}, 0.5, {"name": "gaussian", "scale": 0.5})
    theta = _learn(mrp, "qtd", 4000, 0.02, seeds=16, m=32)
    assert np.abs(qtd.estimate(theta).mean(axis=0) - mrp.values()).max() < 0.05


def test_qtd_steps_are_bounded_by_the_step_size_while_td_steps_grow_with_the_reward():
    theta = np.zeros((1, 2, 5))
    big = np.full((1, 2), 1e6)
    moved = qtd.update(theta, big, theta, 0.1, 0.9) - theta
    assert np.abs(moved).max() <= 0.1 + 1e-12
    assert np.abs(td.update(np.zeros((1, 2)), big, np.zeros((1, 2)), 0.1, 0.9)).max() == pytest.approx(1e5)


def test_vectorised_grid_equals_updating_each_seed_and_step_size_alone():
    mrp = build_mrp({"name": "random", "states": 5, "concentration": 1.0}, 0.9, {"name": "gaussian", "scale": 1.0})
    alphas = np.array([0.05, 0.5])
    grid_errors = run_grid(mrp, learners_for([4]), alphas, 3, [7], np.random.default_rng(5))
    rng = np.random.default_rng(5)
    samples = [mrp.sample(rng, (3,)) for _ in range(7)]  # the grid draws these, in this order
    for b in range(3):
        for a, alpha in enumerate(alphas):
            v, theta = np.zeros(5), np.zeros((5, 4))
            for rewards, next_states in samples:
                v = td.update(v, rewards[b], v[next_states[b]], alpha, mrp.gamma)
                theta = qtd.update(theta, rewards[b], theta[next_states[b]], alpha, mrp.gamma)
            assert grid_errors["td"][0, b, a] == pytest.approx(((v - mrp.values()) ** 2).mean())
            assert grid_errors["qtd_m4"][0, b, a] == pytest.approx(((theta.mean(1) - mrp.values()) ** 2).mean())


def test_bad_names_are_clear_errors():
    with pytest.raises(KeyError, match="nosuch"):
        build_mrp({"name": "nosuch"}, 0.9)
    with pytest.raises(KeyError, match="cauchy"):
        build_mrp({"name": "chain"}, 0.9, {"name": "cauchy"})
    with pytest.raises(ValueError, match="statez"):
        build_mrp({"name": "chain", "statez": 3}, 0.9)
