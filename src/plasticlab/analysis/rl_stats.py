"""Aggregate statistics over many tasks with stratified-bootstrap CIs (the rliable protocol).

Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice" (NeurIPS): with 3–10
runs per game, a point estimate of a benchmark score hides large uncertainty, so every aggregate
is reported with a percentile CI from a *stratified* bootstrap (runs resampled within each task).

Shapes: a score matrix is ``(n_runs, n_tasks)`` (normalised scores, e.g. human-normalised on
Atari-100k); a study passes one per variant as ``{name: matrix}``. Every statistic reduces the
last two axes ``(..., n_runs, n_tasks)`` and is vectorised over the leading ones, so all bootstrap
replicates (and all checkpoints of a sample-efficiency curve) are reduced in one call.
The ``rliable`` package itself does not import on our pinned numpy/pandas; this is our own code,
written from the paper's definitions and tested on cases with known answers.
"""

from __future__ import annotations

import zlib
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from plasticlab.analysis.stats import bootstrap_ci, iqm

__all__ = ["AGGREGATES", "PROFILES", "aggregate_iqm", "aggregate_mean", "aggregate_median", "aggregate_table",
           "average_score_distribution", "difference_ci", "difference_table", "optimality_gap", "per_task_table", "performance_profile", "probability_of_improvement",
           "probability_of_improvement_ci", "profile_table", "improvement_table", "sample_efficiency_curve",
           "sample_efficiency_table", "score_distribution", "stratified_bootstrap_ci"]

Statistic = Callable[[np.ndarray], np.ndarray]
Interval = tuple[np.ndarray, np.ndarray, np.ndarray]  # (point estimate, ci_low, ci_high)

# Upper bound on the elements of one block of bootstrap replicates (about 128 MiB of float64).
# Replicates are drawn in chunks under this bound from a stream of uniforms that does not depend
# on the chunk size, so the result is identical to the unchunked computation.
_BLOCK_ELEMENTS = 1 << 24


# --- aggregate statistics: (..., n_runs, n_tasks) -> (...) -----------------------------------

def aggregate_mean(scores: np.ndarray) -> np.ndarray:
    """Mean over all runs and tasks: the classic summary, dominated by a few easy tasks."""
    return np.mean(scores, axis=(-2, -1))


def aggregate_median(scores: np.ndarray) -> np.ndarray:
    """Median over tasks of the per-task mean over runs (rliable's definition).

    Robust to outlier tasks, but ignores half the tasks and has a high variance with few runs.
    """
    return np.median(np.mean(scores, axis=-2), axis=-1)


def aggregate_iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean of all run×task scores pooled (``trim_mean(pooled, 0.25)``).

    Pooling runs and tasks (not averaging runs first) is what makes IQM both robust to outlier
    tasks and less noisy than the median: it uses the middle 50% of all ``n_runs·n_tasks`` scores.
    """
    pooled = np.reshape(scores, (*np.shape(scores)[:-2], -1))
    return iqm(pooled, axis=-1)


def optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Mean shortfall below a target: mean of ``max(0, gamma − score)`` (lower is better).

    Scores above ``gamma`` (human level by default) earn nothing extra, so one super-human game
    cannot hide failures elsewhere.
    """
    return np.mean(np.maximum(gamma - np.asarray(scores), 0.0), axis=(-2, -1))


AGGREGATES: dict[str, Statistic] = {
    "median": aggregate_median,
    "iqm": aggregate_iqm,
    "mean": aggregate_mean,
    "optimality_gap": optimality_gap,
}


# --- performance profiles: (..., n_runs, n_tasks), (n_taus,) -> (..., n_taus) ------------------

def score_distribution(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of all run×task scores above each threshold ``tau`` (run-score distribution).

    The whole distribution, not one summary: one profile dominating another means better at
    every quantile, which no single aggregate can show.
    """
    return np.mean(np.asarray(scores)[..., None] > np.asarray(taus), axis=(-3, -2))


def average_score_distribution(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of tasks whose mean score over runs is above each ``tau``.

    The older "average score" profile: averaging runs first hides run-to-run spread, so its
    bootstrap CIs are the ones to read when only task-level claims are made.
    """
    return np.mean(np.mean(scores, axis=-2)[..., None] > np.asarray(taus), axis=-2)


PROFILES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "score": score_distribution,
    "average": average_score_distribution,
}


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y): per task, the Mann–Whitney U of X against Y over ``n·m`` (ties count 1/2), averaged
    over tasks.

    ``x``: ``(..., n, n_tasks)``, ``y``: ``(..., m, n_tasks)``. Says how likely a run of X beats a run
    of Y on a random task, whatever the size of the gain; 0.5 means no difference.
    """
    diff = np.asarray(x)[..., :, None, :] - np.asarray(y)[..., None, :, :]  # (..., n, m, n_tasks)
    return np.mean((diff > 0) + 0.5 * (diff == 0), axis=(-3, -2, -1))


# --- the stratified bootstrap ---------------------------------------------------------------------

def _check_scores(scores: np.ndarray, name: str = "scores") -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    if scores.ndim < 2 or scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n_runs, n_tasks, ...) with n_runs, n_tasks >= 1, got {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError(f"{name} contain NaN (a diverged or missing run?); drop or fix them first")
    return scores


def _check_bootstrap(n_boot: int, confidence: float) -> None:
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be positive, got {n_boot}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")


def _resample(scores: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """``(*lead, n_runs, n_tasks)`` -> ``(size, *lead, n_runs, n_tasks)``: runs drawn with
    replacement independently within each task (never across tasks), the same draw for every
    leading position (e.g. every checkpoint of a curve, so the curve's band is coherent)."""
    n_runs, n_tasks = scores.shape[-2:]
    # Uniform doubles (one generator word each) instead of rng.integers: the stream is then the
    # same whether replicates are drawn in one block or many, so chunking never changes a result.
    runs = (rng.random((size, n_runs, n_tasks)) * n_runs).astype(np.intp)
    resampled = scores[..., runs, np.arange(n_tasks)]  # (*lead, size, n_runs, n_tasks)
    return np.moveaxis(resampled, scores.ndim - 2, 0)


def _bootstrap(statistic: Callable[..., np.ndarray], arrays: Sequence[np.ndarray], n_boot: int,
               seed: int | Sequence[int], cost: int) -> np.ndarray:
    """``(n_boot, *out)`` replicates of ``statistic(*arrays)``, each array resampled independently.

    ``cost``: elements one replicate occupies at its largest, which sets the chunk size.
    """
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(arrays))]
    chunk = max(1, _BLOCK_ELEMENTS // max(int(cost), 1))
    blocks = []
    for start in range(0, int(n_boot), chunk):  # loop over memory blocks, not over replicates
        size = min(chunk, int(n_boot) - start)
        blocks.append(np.asarray(statistic(*(_resample(a, rng, size) for a, rng in zip(arrays, rngs)))))
    return np.concatenate(blocks, axis=0)


def _percentile_interval(point: np.ndarray, replicates: np.ndarray, confidence: float) -> Interval:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [alpha, 1.0 - alpha], axis=0)
    as_result = lambda a: np.asarray(a, dtype=float)[()]  # noqa: E731  0-d -> numpy scalar, else the array
    return as_result(point), as_result(low), as_result(high)


def _resolve(statistic: str | Statistic) -> Statistic:
    if callable(statistic):
        return statistic
    if statistic not in AGGREGATES:
        raise ValueError(f"unknown statistic {statistic!r}; available: {', '.join(sorted(AGGREGATES))}")
    return AGGREGATES[statistic]


def stratified_bootstrap_ci(scores: np.ndarray, statistic: str | Statistic = "iqm", *, n_boot: int = 2000,
                            confidence: float = 0.95, seed: int | Sequence[int] = 0) -> Interval:
    """Point estimate and percentile CI of an aggregate ``statistic`` of one score matrix.

    ``scores``: ``(n_runs, n_tasks, *trailing)``; ``statistic``: a name in :data:`AGGREGATES` or a
    function ``(..., n_runs, n_tasks) -> (..., *out)``. Returns ``(point, low, high)``, each of shape
    ``(*trailing, *out)``. Runs are resampled within each task (stratified), as the paper does:
    tasks are fixed by the benchmark, only the runs are random. Deterministic for ``seed``.
    """
    scores = _check_scores(scores)
    _check_bootstrap(n_boot, confidence)
    reduce = _resolve(statistic)
    moved = np.moveaxis(scores, (0, 1), (-2, -1))  # (*trailing, n_runs, n_tasks)
    replicates = _bootstrap(reduce, [moved], n_boot, seed, cost=4 * moved.size)
    return _percentile_interval(reduce(moved), replicates, confidence)


def performance_profile(scores: np.ndarray, taus: np.ndarray, profile: str = "score", *, n_boot: int = 2000,
                        confidence: float = 0.95, seed: int | Sequence[int] = 0) -> Interval:
    """Profile ``(point, low, high)``, each ``(n_taus,)``, with stratified-bootstrap CIs.

    ``profile``: ``"score"`` (fraction of runs×tasks above tau) or ``"average"`` (fraction of tasks
    whose mean over runs is above tau); see :data:`PROFILES`.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; available: {', '.join(sorted(PROFILES))}")
    scores = _check_scores(scores)
    if scores.ndim != 2:
        raise ValueError(f"performance_profile needs scores of shape (n_runs, n_tasks), got {scores.shape}")
    taus = np.asarray(taus, dtype=float).ravel()
    _check_bootstrap(n_boot, confidence)
    reduce = lambda s: PROFILES[profile](s, taus)  # noqa: E731
    replicates = _bootstrap(reduce, [scores], n_boot, seed, cost=scores.size * (len(taus) + 2))
    return _percentile_interval(reduce(scores), replicates, confidence)


def probability_of_improvement_ci(x: np.ndarray, y: np.ndarray, *, n_boot: int = 2000, confidence: float = 0.95,
                                  seed: int | Sequence[int] = 0) -> Interval:
    """P(X > Y) with a CI: ``x`` ``(n, n_tasks)`` and ``y`` ``(m, n_tasks)`` are resampled
    independently, each stratified by task (runs of different variants are not paired)."""
    x, y = _check_scores(x, "x"), _check_scores(y, "y")
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (runs, n_tasks) with the same tasks, got {x.shape} and {y.shape}")
    _check_bootstrap(n_boot, confidence)
    replicates = _bootstrap(probability_of_improvement, [x, y], n_boot, seed, cost=3 * x.shape[0] * y.size)
    return _percentile_interval(probability_of_improvement(x, y), replicates, confidence)


def sample_efficiency_curve(scores: np.ndarray, statistic: str | Statistic = "iqm", *, n_boot: int = 2000,
                            confidence: float = 0.95, seed: int | Sequence[int] = 0) -> Interval:
    """Aggregate with CI at each checkpoint: ``scores`` ``(n_runs, n_tasks, n_points)`` ->
    ``(point, low, high)`` each ``(n_points,)``.

    One resampling of runs is shared by all checkpoints, so each band is that of a resampled set of
    whole learning curves, as in the paper's sample-efficiency figures.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 3:
        raise ValueError(f"sample_efficiency_curve needs scores of shape (n_runs, n_tasks, n_points), got {scores.shape}")
    return stratified_bootstrap_ci(scores, statistic, n_boot=n_boot, confidence=confidence, seed=seed)


# --- tidy tables over variants: {name: scores} -> DataFrame (figures are drawn from these) --------

def _variant_seed(seed: int, name: str) -> list[int]:
    """Seed per variant from the study seed and the variant's name, so a variant's CI does not
    depend on which other variants share the table, and variants get independent resamples."""
    return [int(seed), zlib.crc32(name.encode())]


def _check_dict(score_dict: Mapping[str, np.ndarray], ndim: int) -> dict[str, np.ndarray]:
    if not score_dict:
        raise ValueError("no variants given: score_dict is empty")
    checked = {name: _check_scores(scores, f"scores of {name!r}") for name, scores in score_dict.items()}
    bad = {name: s.shape for name, s in checked.items() if s.ndim != ndim}
    tasks = {s.shape[1] for s in checked.values()}
    if bad or len(tasks) > 1:
        raise ValueError(f"score matrices must all be {ndim}-d with the same n_tasks; shapes: "
                         f"{ {name: s.shape for name, s in checked.items()} }")
    return checked


def aggregate_table(score_dict: Mapping[str, np.ndarray], statistics: Sequence[str] = ("median", "iqm", "mean",
                    "optimality_gap"), *, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """One row per variant × statistic: ``variant, statistic, estimate, ci_low, ci_high, n_runs, n_tasks``.

    ``score_dict``: ``{variant: (n_runs, n_tasks)}``. All statistics of a variant share one set of
    bootstrap replicates, as in rliable's interval-estimate figures.
    """
    reducers = [_resolve(name) for name in statistics]
    stacked = lambda s: np.stack([f(s) for f in reducers], axis=-1)  # noqa: E731
    rows = []
    for name, scores in _check_dict(score_dict, 2).items():
        point, low, high = stratified_bootstrap_ci(scores, stacked, n_boot=n_boot, confidence=confidence,
                                                   seed=_variant_seed(seed, name))
        rows += [{"variant": name, "statistic": stat, "estimate": point[i], "ci_low": low[i], "ci_high": high[i],
                  "n_runs": scores.shape[0], "n_tasks": scores.shape[1]} for i, stat in enumerate(statistics)]
    return pd.DataFrame(rows)


def profile_table(score_dict: Mapping[str, np.ndarray], taus: np.ndarray, profile: str = "score", *,
                  n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """One row per variant × tau: ``variant, tau, estimate, ci_low, ci_high`` (fraction above tau)."""
    taus = np.asarray(taus, dtype=float).ravel()
    frames = []
    for name, scores in _check_dict(score_dict, 2).items():
        point, low, high = performance_profile(scores, taus, profile, n_boot=n_boot, confidence=confidence,
                                               seed=_variant_seed(seed, name))
        frames.append(pd.DataFrame({"variant": name, "tau": taus, "estimate": point, "ci_low": low, "ci_high": high}))
    return pd.concat(frames, ignore_index=True)


def _against_baseline(checked: Mapping[str, np.ndarray], baseline: str):
    """The (name, scores) of every variant but the baseline, which must exist: the pairs a
    comparison table has one row each for."""
    if baseline not in checked:
        raise KeyError(f"baseline {baseline!r} is not among the variants {sorted(checked)}")
    return [(name, scores) for name, scores in checked.items() if name != baseline]


def improvement_table(score_dict: Mapping[str, np.ndarray], baseline: str, *, n_boot: int = 2000,
                      confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """P(variant > baseline) for every other variant: ``variant, baseline, estimate, ci_low, ci_high``."""
    checked = _check_dict(score_dict, 2)
    rows = []
    for name, scores in _against_baseline(checked, baseline):
        point, low, high = probability_of_improvement_ci(scores, checked[baseline], n_boot=n_boot,
                                                         confidence=confidence, seed=_variant_seed(seed, name))
        rows.append({"variant": name, "baseline": baseline, "estimate": float(point), "ci_low": float(low),
                     "ci_high": float(high)})
    return pd.DataFrame(rows, columns=["variant", "baseline", "estimate", "ci_low", "ci_high"])


def sample_efficiency_table(curve_dict: Mapping[str, np.ndarray], steps: Sequence[float], statistic: str = "iqm", *,
                            n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """One row per variant × checkpoint: ``variant, step, statistic, estimate, ci_low, ci_high``.

    ``curve_dict``: ``{variant: (n_runs, n_tasks, n_points)}``; ``steps``: ``(n_points,)`` environment
    steps of the checkpoints.
    """
    steps = np.asarray(steps, dtype=float).ravel()
    frames = []
    for name, scores in _check_dict(curve_dict, 3).items():
        if scores.shape[2] != len(steps):
            raise ValueError(f"{name!r} has {scores.shape[2]} checkpoints but {len(steps)} steps were given")
        point, low, high = sample_efficiency_curve(scores, statistic, n_boot=n_boot, confidence=confidence,
                                                   seed=_variant_seed(seed, name))
        frames.append(pd.DataFrame({"variant": name, "step": steps, "statistic": statistic, "estimate": point,
                                    "ci_low": low, "ci_high": high}))
    return pd.concat(frames, ignore_index=True)


def per_task_table(score_dict: Mapping[str, np.ndarray], tasks: Sequence[str], *, n_boot: int = 2000,
                   confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Mean score per variant × task with a bootstrap CI over runs: ``variant, task, estimate,
    ci_low, ci_high, n_runs`` (the per-game bars behind an aggregate)."""
    checked = _check_dict(score_dict, 2)
    tasks = list(tasks)
    frames = []
    for name, scores in checked.items():
        if scores.shape[1] != len(tasks):
            raise ValueError(f"{name!r} has {scores.shape[1]} tasks but {len(tasks)} task names were given")
        low, high = bootstrap_ci(scores.T, "mean", n_boot=n_boot, confidence=confidence,
                                 seed=int(np.random.SeedSequence(_variant_seed(seed, name)).generate_state(1)[0]))
        frames.append(pd.DataFrame({"variant": name, "task": tasks, "estimate": scores.mean(axis=0), "ci_low": low,
                                    "ci_high": high, "n_runs": scores.shape[0]}))
    return pd.concat(frames, ignore_index=True)


def difference_ci(x: np.ndarray, y: np.ndarray, statistic: str | Statistic = "iqm", *, n_boot: int = 2000,
                  confidence: float = 0.95, seed: int | Sequence[int] = 0) -> tuple[Interval, bool]:
    """``statistic(x) − statistic(y)`` with a stratified-bootstrap CI, and whether it was paired.

    ``x``, ``y``: ``(n_runs, n_tasks)``. With the same shape, row *i* of both is taken to be the same
    seed and one draw of run indices per task resamples both (a paired bootstrap: luck the two runs
    of a seed share cancels out of the difference); otherwise each is resampled on its own.
    """
    x, y = _check_scores(x, "x"), _check_scores(y, "y")
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (runs, n_tasks) with the same tasks, got {x.shape} and {y.shape}")
    _check_bootstrap(n_boot, confidence)
    reduce = _resolve(statistic)
    if x.shape == y.shape:
        stacked = np.stack([x, y], axis=-1)  # (n_runs, n_tasks, 2): resampled as one, the pair kept together
        paired = lambda s: reduce(s[..., 0, :, :]) - reduce(s[..., 1, :, :])  # noqa: E731
        return stratified_bootstrap_ci(stacked, paired, n_boot=n_boot, confidence=confidence, seed=seed), True
    difference = lambda a, b: reduce(a) - reduce(b)  # noqa: E731
    replicates = _bootstrap(difference, [x, y], n_boot, seed, cost=4 * (x.size + y.size))
    return _percentile_interval(difference(x, y), replicates, confidence), False


def difference_table(score_dict: Mapping[str, np.ndarray], baseline: str, statistic: str = "iqm", *,
                     n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """``statistic`` of every other variant minus the baseline's, with a stratified-bootstrap CI
    (paired by seed where the run counts match, see :func:`difference_ci`): ``variant, baseline,
    statistic, estimate, ci_low, ci_high, n_runs, n_tasks, paired``. The number a claim such as
    "Soft MoE improves IQM over the baseline" needs: a CI of the difference, not two CIs side by side."""
    checked = _check_dict(score_dict, 2)
    rows = []
    for name, scores in _against_baseline(checked, baseline):
        (point, low, high), paired = difference_ci(scores, checked[baseline], statistic, n_boot=n_boot,
                                                   confidence=confidence, seed=_variant_seed(seed, name))
        rows.append({"variant": name, "baseline": baseline, "statistic": statistic, "estimate": float(point),
                     "ci_low": float(low), "ci_high": float(high),
                     "n_runs": min(scores.shape[0], checked[baseline].shape[0]), "n_tasks": scores.shape[1],
                     "paired": paired})
    return pd.DataFrame(rows, columns=["variant", "baseline", "statistic", "estimate", "ci_low", "ci_high", "n_runs",
                                       "n_tasks", "paired"])
