"""TD(0): V(x) ← V(x) + α (r + γ V(x′) − V(x)) (Sutton 1988), on arrays of any batch shape.

Values are ``(*batch, S)``; one call updates every seed, step size and state from one synchronous
sample of transitions, so a whole grid costs a few array operations per step.
"""

from __future__ import annotations

import numpy as np


def init(batch: tuple[int, ...], n_states: int) -> np.ndarray:
    return np.zeros((*batch, n_states))


def update(values: np.ndarray, rewards: np.ndarray, next_values: np.ndarray, alpha: np.ndarray, gamma: float) -> np.ndarray:
    """One TD(0) step. ``next_values[..., x]`` = V(x′) of the transition sampled from x; ``alpha``
    broadcasts against ``values``. The step is proportional to the TD error, hence to the reward noise."""
    return values + alpha * (rewards + gamma * next_values - values)


def estimate(values: np.ndarray) -> np.ndarray:
    return values


def successor_rows(batch: tuple[int, ...], n_states: int, next_states: np.ndarray) -> np.ndarray:
    """For each batch element and state x, the flat index of the cell of x's sampled successor in a
    ``(*batch, S)`` table; ``next_states`` broadcasts against ``(*batch, S)``.

    Flat indices let every table layout gather with one ``np.take``, which is several times cheaper
    than ``take_along_axis`` (it materialises the broadcast index) and, unlike fancy indexing
    behind a leading slice, returns a C-contiguous array that later operations stream through.
    """
    cells = np.arange(int(np.prod(batch)), dtype=np.intp).reshape(*batch, 1) * n_states
    return np.broadcast_to(cells + next_states, (*batch, n_states))


def gather_next(values: np.ndarray, next_states: np.ndarray) -> np.ndarray:
    """V(x′) for each state's sampled successor; ``next_states`` broadcasts over the value batch."""
    return np.take(values.reshape(-1), successor_rows(values.shape[:-1], values.shape[-1], next_states))
