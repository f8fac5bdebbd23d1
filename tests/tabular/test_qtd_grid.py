"""The grid's quantile-major QTD against the direct m × m definition in ``qtd``: equal bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.tabular import build_mrp, learners_for, qtd, qtd_grid, run_grid, td
from plasticlab.tabular.grid import Learner, td_learner


def _random_case(rng: np.random.Generator, m: int, batch: tuple[int, ...] = (3, 4), states: int = 5):
    """A state-major table on a coarse grid of values, so that many targets tie with quantiles
    exactly (ties are where ``<`` versus ``≤`` would show), plus rewards, successors and step sizes."""
    theta = rng.integers(-4, 5, size=(*batch, states, m)) / 2.0
    rewards = rng.integers(-2, 3, size=(batch[0], 1, states)) / 4.0
    next_states = rng.integers(0, states, size=(batch[0], 1, states))
    alpha = rng.uniform(0.01, 1.0, size=(1, batch[1], 1))
    return theta, rewards, next_states, alpha


def test_count_below_counts_strictly_smaller_targets():
    rng = np.random.default_rng(0)
    for m in (1, 3, 16, 300):  # 300 > 255: the counts no longer fit a byte
        targets = rng.integers(-3, 4, size=(m, 2, 3)).astype(float)
        theta = rng.integers(-3, 4, size=(m, 2, 3)).astype(float)
        count = qtd_grid.count_below(targets, theta)
        for i, b, x in np.ndindex(theta.shape):
            assert count[i, b, x] == sum(targets[j, b, x] < theta[i, b, x] for j in range(m))


@pytest.mark.parametrize("m", [1, 4, 16, 17])
def test_quantile_major_update_equals_the_direct_update_bit_for_bit(m):
    rng = np.random.default_rng(m)
    for gamma in (0.0, 0.5, 0.9):
        theta, rewards, next_states, alpha = _random_case(rng, m)
        expected = qtd.update(theta, rewards, qtd.gather_next(theta, next_states), alpha, gamma)
        fast = qtd_grid.to_quantile_major(theta)
        fast = qtd_grid.update(fast, rewards, qtd_grid.gather_next(fast, next_states), alpha, gamma)
        assert np.array_equal(qtd_grid.to_state_major(fast), expected)
        assert np.array_equal(qtd_grid.estimate(fast), qtd.estimate(expected))


def test_gathers_pick_each_states_sampled_successor_in_both_layouts():
    rng = np.random.default_rng(1)
    theta, _, next_states, _ = _random_case(rng, m=3)
    values = theta[..., 0]
    gathered_values = td.gather_next(values, next_states)
    gathered_theta = qtd.gather_next(theta, next_states)
    gathered_quantile_major = qtd_grid.gather_next(qtd_grid.to_quantile_major(theta), next_states)
    for b, a, x in np.ndindex(values.shape):
        successor = next_states[b, 0, x]
        assert gathered_values[b, a, x] == values[b, a, successor]
        assert np.array_equal(gathered_theta[b, a, x], theta[b, a, successor])
        assert np.array_equal(gathered_quantile_major[:, b, a, x], theta[b, a, successor])


def test_grid_estimates_equal_the_state_major_learner_bit_for_bit():
    """The grid's QTD learner and one built on ``qtd.update`` see the same draws and give the same errors."""
    mrp = build_mrp({"name": "random", "states": 6, "concentration": 1.0}, 0.9, {"name": "heavy_tailed", "scale": 1.0})
    m = 8
    direct = Learner(f"qtd_m{m}", lambda batch, n: qtd.init(batch, n, m), qtd.update, qtd.gather_next, qtd.estimate)
    alphas, checkpoints = np.geomspace(0.01, 1.0, 4), [5, 40]
    expected = run_grid(mrp, [td_learner(), direct], alphas, 3, checkpoints, np.random.default_rng(7))
    fast = run_grid(mrp, learners_for([m]), alphas, 3, checkpoints, np.random.default_rng(7))
    assert fast.keys() == expected.keys()
    for name in expected:
        assert np.array_equal(fast[name], expected[name]), name
