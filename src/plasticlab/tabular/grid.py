"""TD and QTD over a whole (seed × step size) grid at once: the QTD paper's experiment.

All learners in a grid see the *same* sampled transitions within a seed (common random numbers),
so their differences are not sampling luck; across seeds the samples are independent. The arrays
are ``(seeds, step_sizes, S[, m])``: one NumPy operation per update for every seed, step size and
state, instead of a Python loop per seed (see ``benchmarks/tabular_grid.py`` for the speed-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from plasticlab.tabular import qtd_grid, td
from plasticlab.tabular.mrp import MRP
from plasticlab.tabular.step_sizes import Schedule, constant


@dataclass(frozen=True)
class Learner:
    """A method's name, how to initialise and update its table, and how to read its value estimate.

    The table's layout is the learner's own: QTD keeps its quantiles quantile-major (see
    :mod:`~plasticlab.tabular.qtd_grid`), which is what makes its grid update fast.
    """

    name: str
    init: Callable[[tuple[int, ...], int], np.ndarray]
    update: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]
    gather_next: Callable[[np.ndarray, np.ndarray], np.ndarray]
    estimate: Callable[[np.ndarray], np.ndarray]


def td_learner() -> Learner:
    return Learner("td", td.init, td.update, td.gather_next, td.estimate)


def qtd_learner(m: int) -> Learner:
    if m < 1:
        raise ValueError(f"QTD needs at least one quantile, got m = {m}")
    return Learner(f"qtd_m{m}", lambda batch, n: qtd_grid.init(batch, n, m), qtd_grid.update, qtd_grid.gather_next,
                   qtd_grid.estimate)


def learners_for(quantiles: Sequence[int]) -> list[Learner]:
    """TD plus QTD with each number of quantiles m."""
    return [td_learner(), *(qtd_learner(int(m)) for m in quantiles)]


def run_grid(mrp: MRP, learners: Sequence[Learner], step_sizes: Sequence[float], n_seeds: int, checkpoints: Sequence[int],
             rng: np.random.Generator, schedule: Schedule | None = None, progress: str | None = None) -> dict[str, np.ndarray]:
    """Squared error of every learner's value estimate at each checkpoint.

    Returns ``{learner name: (len(checkpoints), n_seeds, len(step_sizes))}`` of the mean over
    states of (V̂(x) − V(x))², V exact. ``checkpoints`` are counts of synchronous updates (each
    updates every state once). A diverged entry (TD with α > 2 overshoots without bound) is
    reported as ``inf`` rather than as an overflow warning and a NaN.
    """
    schedule = schedule or constant()
    checkpoints = sorted(int(c) for c in checkpoints)
    alphas = np.asarray(step_sizes, dtype=float)[None, :, None]  # (1, A, 1) against (seeds, A, S)
    truth = mrp.values()
    tables = {lr.name: lr.init((n_seeds, len(alphas.ravel())), mrp.n_states) for lr in learners}
    errors = {lr.name: np.empty((len(checkpoints), n_seeds, alphas.size)) for lr in learners}
    done = 0
    bar = tqdm(total=checkpoints[-1] if checkpoints else 0, desc=progress, disable=progress is None, mininterval=2.0)
    for k, stop in enumerate(checkpoints):
        while done < stop:
            rewards, next_states = mrp.sample(rng, (n_seeds,))  # shared by every learner and step size
            rewards, next_states = rewards[:, None, :], next_states[:, None, :]
            alpha = alphas * schedule(done)
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is measured, not warned about
                for lr in learners:
                    table = tables[lr.name]
                    tables[lr.name] = lr.update(table, rewards, lr.gather_next(table, next_states), alpha, mrp.gamma)
            done += 1
            bar.update()
        for lr in learners:
            with np.errstate(over="ignore", invalid="ignore"):
                error = ((lr.estimate(tables[lr.name]) - truth) ** 2).mean(axis=-1)
            errors[lr.name][k] = np.where(np.isfinite(error), error, np.inf)
    bar.close()
    return errors
