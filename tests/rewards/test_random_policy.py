"""The random policy's success: the floor a goal-reaching agent must beat, computed exactly."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.rewards.qlearning import random_policy_success


def test_random_policy_success_on_a_chain_by_hand():
    # states 0-1-2 on a line, actions left/right (walls stay), goal at 2
    next_state = np.array([[[0, 1], [0, 2], [1, 2]]])
    truth = np.array([[False, False, True]])
    # from 0: right, right within 2 steps = 1/4; from 1: right first (1/2), or left then right is 3 steps
    assert random_policy_success(next_state, truth, horizon=2) == pytest.approx([(1 / 4 + 1 / 2) / 2])
    # a third step adds left-right-right from 0 (1/8) and from 1 (1/8)
    assert random_policy_success(next_state, truth, horizon=3) == pytest.approx([(1 / 4 + 1 / 8 + 1 / 2 + 1 / 8) / 2])
    assert random_policy_success(next_state, truth, horizon=0) == pytest.approx([0.0])


def test_random_policy_success_matches_monte_carlo_on_random_dynamics():
    rng = np.random.default_rng(0)
    tasks, states, actions, horizon = 3, 7, 4, 5
    next_state = rng.integers(0, states, size=(tasks, states, actions))
    truth = np.zeros((tasks, states), dtype=bool)
    truth[np.arange(tasks), rng.integers(0, states, size=tasks)] = True
    exact = random_policy_success(next_state, truth, horizon)
    episodes = 20_000
    estimate = []
    for task in range(tasks):
        starts = np.flatnonzero(~truth[task])
        state = np.repeat(starts, episodes)
        reached = np.zeros(len(state), dtype=bool)
        for _ in range(horizon):
            state = next_state[task, state, rng.integers(0, actions, size=len(state))]
            reached |= truth[task, state]
        estimate.append(reached.mean())
    # binomial standard error of the mean over 6 starts × 20k episodes is below 0.002
    np.testing.assert_allclose(exact, estimate, atol=0.01)
    assert ((0 < exact) & (exact < 1)).all()
