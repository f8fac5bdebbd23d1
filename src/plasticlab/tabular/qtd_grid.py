"""QTD for the (seed × step size) grid: the update of :mod:`~plasticlab.tabular.qtd`, laid out for speed.

:func:`qtd.update <plasticlab.tabular.qtd.update>` compares every target with every quantile as a
``(*batch, S, m, m)`` array whose innermost axis has only m entries, so NumPy spends its time on
per-row loop overhead rather than on comparisons. Here a table is stored *quantile-major*,
``(m, *batch, S)``: each of the m² comparisons then runs over one contiguous vector of all seeds ×
step sizes × states (about 8× faster for the QTD paper's grid, m = 16), with bit for bit the same
result — the same counts, divided, subtracted and added in the same order.

The counts are exact comparisons, not a sort and a search: for the papers' m (≤ 64), m² long
vector compares cost less than sorting m targets and log₂ m rounds of scattered gathers.
"""

from __future__ import annotations

import numpy as np

from plasticlab.tabular.qtd import midpoints
from plasticlab.tabular.td import successor_rows


def init(batch: tuple[int, ...], n_states: int, m: int) -> np.ndarray:
    """A zero table, quantile-major: ``(m, *batch, S)``."""
    return np.zeros((m, *batch, n_states))


def gather_next(theta: np.ndarray, next_states: np.ndarray) -> np.ndarray:
    """θ(x′, ·) for each state's sampled successor, quantile-major like ``theta``."""
    m, *batch, n_states = theta.shape
    return np.take(theta.reshape(m, -1), successor_rows(tuple(batch), n_states, next_states), axis=1)


def count_below(targets: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``count[i, …] = #{j : targets[j, …] < theta[i, …]}``: the QTD indicator sum for every quantile.

    One target level j at a time against all quantiles, so memory stays at the table's size rather
    than m times it, and every comparison is one long contiguous vector operation.
    """
    count = np.zeros(theta.shape, dtype=np.min_scalar_type(len(targets)))  # uint8 for m < 256
    below = np.empty(theta.shape, dtype=bool)
    for target in targets:
        np.less(target, theta, out=below)
        count += below.view(np.uint8)  # bool as 0/1 bytes, no conversion pass
    return count


def _dense(array: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` broadcast to ``shape`` and copied contiguous. A broadcast operand whose innermost
    run is short (rewards ``(seeds, 1, S)`` against the table) makes NumPy loop in pieces of S
    elements; expanded once, every table-sized operation runs over one long vector."""
    return np.ascontiguousarray(np.broadcast_to(array, shape))


def update(theta: np.ndarray, rewards: np.ndarray, next_theta: np.ndarray, alpha: np.ndarray, gamma: float) -> np.ndarray:
    """One QTD step on quantile-major tables, **in place**: ``theta`` (updated and returned) and
    ``next_theta`` (a fresh :func:`gather_next`, overwritten) are ``(m, *batch, S)``; ``rewards``
    and ``alpha`` broadcast against ``(*batch, S)``. Equals :func:`qtd.update
    <plasticlab.tabular.qtd.update>` on the state-major tables, bit for bit.

    In place because each fresh table-sized array costs more than the arithmetic on it: the
    allocator hands back pages it returned to the OS, and every page faults on first touch.
    ``next_theta`` holds the targets, then the step; no other table-sized array is made.
    """
    m = theta.shape[0]
    rewards, alpha = _dense(rewards, theta.shape[1:]), _dense(alpha, theta.shape[1:])
    targets = np.multiply(next_theta, gamma, out=next_theta)
    targets += rewards  # r + γθ(x′, j), one target per j: the same bits as qtd.update's (+, × commute)
    count = count_below(targets, theta)
    step = np.divide(count, m, out=targets)  # (1/m) Σⱼ 1{target_j < θ_i}; the targets are done with
    np.subtract(midpoints(m).reshape(m, *(1,) * (theta.ndim - 1)), step, out=step)
    step *= alpha
    theta += step
    return theta


def estimate(theta: np.ndarray) -> np.ndarray:
    """The mean of the m quantile estimates, ``(*batch, S)``. Averaged state-major, as
    :func:`qtd.estimate <plasticlab.tabular.qtd.estimate>` does, because NumPy's summation order
    (hence the last bit) depends on the memory layout."""
    return np.ascontiguousarray(np.moveaxis(theta, 0, -1)).mean(axis=-1)


def to_state_major(theta: np.ndarray) -> np.ndarray:
    """``(m, *batch, S)`` → ``(*batch, S, m)``, the layout of :mod:`~plasticlab.tabular.qtd`."""
    return np.moveaxis(theta, 0, -1)


def to_quantile_major(theta: np.ndarray) -> np.ndarray:
    """``(*batch, S, m)`` → ``(m, *batch, S)``, contiguous."""
    return np.ascontiguousarray(np.moveaxis(theta, -1, 0))
