"""Goal-conditioned tabular Q-learning on a task reward, scored by ground-truth success.

Every (layout, goal) pair of a run is one task; all tasks learn together as arrays
``(tasks, states, actions)``. The agent only ever sees its task reward (the VLM's binary reward,
or the ground truth for the oracle); an episode ends when that reward fires or after ``horizon``
steps. Evaluation runs the greedy policy from every start state and counts an episode as a success
if it reaches a state where the goal truly holds before its reward model ends it: a false positive
stops the agent short of the goal, a false negative leaves it without a reason to go there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QLearningSpec:
    episodes: int = 300
    horizon: int = 20
    lr: float = 0.5
    gamma: float = 0.9
    epsilon: float = 0.2
    eval_every: int = 25


def _greedy(q: np.ndarray, tasks: np.ndarray, states: np.ndarray, tie_break: np.ndarray) -> np.ndarray:
    return np.argmax(q[tasks, states] + tie_break[tasks, states], axis=-1)


def evaluate_greedy(q: np.ndarray, next_state: np.ndarray, reward: np.ndarray, truth: np.ndarray, horizon: int,
                    tie_break: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ground-truth success and task-reward success per task, averaged over every start state
    where the goal does not already hold; shapes ``(tasks,)``."""
    n_tasks, n_states = truth.shape
    tasks = np.repeat(np.arange(n_tasks), n_states)
    state = np.tile(np.arange(n_states), n_tasks)
    valid = ~truth[tasks, state]
    ended = np.zeros_like(valid)
    success = np.zeros_like(valid)
    for _ in range(horizon):
        action = _greedy(q, tasks, state, tie_break)
        state = next_state[tasks, state, action]
        success |= ~ended & truth[tasks, state]
        ended |= reward[tasks, state] > 0
    per_task = lambda x: np.bincount(tasks, weights=(x & valid), minlength=n_tasks) / np.bincount(tasks, weights=valid, minlength=n_tasks)
    return per_task(success), per_task(ended)


def random_policy_success(next_state: np.ndarray, truth: np.ndarray, horizon: int) -> np.ndarray:
    """Exact ground-truth success of the uniformly random policy per task ``(tasks,)``: the chance of
    reaching a goal state within ``horizon`` steps, averaged over the start states where the goal
    does not already hold (what :func:`evaluate_greedy` counts for a learnt policy).

    The floor an agent must beat before its success says anything about its reward: computed by
    dynamic programming over steps, ``hit_t(s) = mean_a [goal(s′) or hit_{t−1}(s′)]``, no sampling.
    """
    n_tasks = truth.shape[0]
    tasks = np.arange(n_tasks)[:, None, None]
    hit = np.zeros(truth.shape)
    for _ in range(horizon):
        hit = np.where(truth[tasks, next_state], 1.0, hit[tasks, next_state]).mean(axis=-1)
    valid = ~truth
    return (hit * valid).sum(axis=1) / valid.sum(axis=1)


def q_learning(next_state: np.ndarray, reward: np.ndarray, truth: np.ndarray, spec: QLearningSpec,
               rng: np.random.Generator) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Train on ``reward`` ``(tasks, states)`` in the dynamics ``next_state`` ``(tasks, states, actions)``;
    return ``(episodes, ground-truth success, task-reward success)`` at every evaluation."""
    n_tasks, n_states, n_actions = next_state.shape
    q = np.zeros((n_tasks, n_states, n_actions))
    tie_break = 1e-9 * rng.random(q.shape)  # a fixed random order among equal values
    tasks = np.arange(n_tasks)
    curve = [(0, *evaluate_greedy(q, next_state, reward, truth, spec.horizon, tie_break))]
    for episode in range(1, spec.episodes + 1):
        keys = np.where(truth, -1.0, rng.random(truth.shape))  # uniform among states where the goal does not hold
        state = keys.argmax(axis=1)
        active = np.ones(n_tasks, dtype=bool)
        for _ in range(spec.horizon):
            explore = rng.random(n_tasks) < spec.epsilon
            action = np.where(explore, rng.integers(n_actions, size=n_tasks), _greedy(q, tasks, state, tie_break))
            following = next_state[tasks, state, action]
            r = reward[tasks, following]
            done = r > 0
            target = r + spec.gamma * np.where(done, 0.0, q[tasks, following].max(axis=1))
            q[tasks, state, action] += active * spec.lr * (target - q[tasks, state, action])
            active &= ~done
            state = following
            if not active.any():
                break
        if episode % spec.eval_every == 0 or episode == spec.episodes:
            curve.append((episode, *evaluate_greedy(q, next_state, reward, truth, spec.horizon, tie_break)))
    return curve
