"""QTD vs TD for value estimation (Rowland et al. 2023, "The statistical benefits of quantile
temporal-difference learning for value estimation").

Claim: even for the mean return alone, QTD's mean of quantiles can beat TD's estimate in the tabular
setting — the more stochastic (especially heavy-tailed) the rewards, the larger the gain, because each
QTD step is bounded by α; TD wins in near-deterministic MRPs, where QTD's small fixed-point bias for
finite m is all that is left.

A variant is an environment; its job runs every noise type and discount on a whole batch of seeds
(default: all of them, in job ``seed=0``): every learner × step size × seed is one array updated
together (:func:`plasticlab.tabular.run_grid`). One job per seed, or even per environment × noise,
would mostly pay process start-ups (a CLI process imports torch: 2–5 s, more than the default grid's
compute). ``seeds_per_job`` splits a large paper grid over cores; the ``seed`` column always holds
the real seeds, so the shared aggregation over seeds is unchanged.
The metric is the squared error of the value estimate averaged over states, at several numbers of
synchronous updates; its mean over seeds is the paper's MSE.

Each method is judged at its own best step size, so the grid must be fine enough to find it: the
table records the best MSE on the configured grid and on every other of its step sizes (the grid
at half the density, from the same runs), and their per-seed difference; the claims hold only if
that change stays within the best MSE's CI and both methods' best step sizes are interior to the
grid. Settings from the paper (Sec. 6): synchronous updates from every state, tabular chains and
random MRPs, reward noises from none to heavy-tailed, a log grid of constant step sizes, the mean
of m quantiles as QTD's value estimate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import logging

import numpy as np
import pandas as pd

from plasticlab.analysis.claims import Claim, Estimate, Precondition, at_last_x, table_estimate
from plasticlab.studies import register
from plasticlab.studies.base import RunSpec, Study
from plasticlab.tabular import build_mrp, learners_for, run_grid
from plasticlab.tabular.batches import batch_rng, batch_seeds, job_count
from plasticlab.tabular.step_sizes import make_schedule

log = logging.getLogger(__name__)
DIVERGED = 1e12  # an MSE beyond this (or inf) counts as diverged
KEYS = ["variant", "metric", "environment", "noise", "noise_type", "gamma", "method"]


def step_size_grid(spec: dict[str, Any] | list[float]) -> np.ndarray:
    """An explicit list, or a log grid ``{min, max, count}``."""
    if isinstance(spec, dict):
        return np.geomspace(float(spec["min"]), float(spec["max"]), int(spec["count"]))
    return np.asarray(spec, dtype=float)


def best_step_size(metrics: pd.DataFrame, name: str = "mse_at_best_step_size") -> pd.DataFrame:
    """Per-seed MSE at the step size with the lowest mean MSE over seeds, per method and budget."""
    keys = ["variant", "noise", "gamma", "method", "updates"]
    means = metrics.groupby([*keys, "step_size"], as_index=False)["value"].mean()
    best = means.loc[means.groupby(keys)["value"].idxmin(), [*keys, "step_size"]]
    return metrics.merge(best, on=[*keys, "step_size"]).assign(metric=name)


def grid_refinement(metrics: pd.DataFrame, best: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The best MSE on every other step size of the grid (half the density, the same runs) and, per
    seed, how much the full grid lowers it: if that change is within the best MSE's CI, doubling
    the grid's density would not change the result either (at this resolution the minimum is found)."""
    grid = np.sort(metrics["step_size"].unique())
    half = best_step_size(metrics[metrics["step_size"].isin(grid[::2])], "mse_at_best_step_size_half_grid")
    keys = ["variant", "environment", "noise", "noise_type", "gamma", "method", "updates", "seed"]
    paired = half.merge(best[[*keys, "value"]].rename(columns={"value": "full"}), on=keys)
    change = paired.assign(value=paired["value"] - paired["full"], metric="best_mse_change_when_grid_doubled")
    return half, change.drop(columns="full")


def ratio_to_td(best: pd.DataFrame) -> pd.DataFrame:
    """log10(MSE_QTD / MSE_TD) per seed, each at its own best step size (negative: QTD better)."""
    keys = ["variant", "environment", "noise", "noise_type", "gamma", "updates", "seed"]
    td = best.loc[best["method"] == "td", [*keys, "value"]].rename(columns={"value": "td"})
    paired = best[best["method"] != "td"].merge(td, on=keys)
    return paired.assign(value=np.log10(paired["value"] / paired["td"]), metric="log10_mse_ratio_to_td")


RATIO = "log10_mse_ratio_to_td"
SETTING = ["environment", "noise", "gamma", "method"]


def _ratios(noisy: bool):
    """log10(MSE_QTD/MSE_TD) after the last budget per environment × noise × γ × m, for the
    stochastic-reward noises (``noisy``) or for deterministic rewards."""
    def statistic(table: pd.DataFrame) -> dict[str, Estimate]:
        rows = table[table["metric"] == RATIO]
        rows = rows[(rows["noise_type"] != "none") == noisy]
        return {f"{env}/{noise} γ={float(gamma):g} {method}": table_estimate(rows, RATIO, environment=env, noise=noise,
                                                                             gamma=gamma, method=method)
                for (env, noise, gamma, method), _ in rows.groupby(SETTING, sort=False)}
    return statistic


def _grid_fine_enough(table: pd.DataFrame) -> tuple[bool, Estimate | None]:
    """Holds when, for every setting and method after the last budget, halving the grid's density
    changes the best MSE by less than half the width of its 95% CI (so doubling it would not either)."""
    best = at_last_x(table[table["metric"] == "mse_at_best_step_size"])
    change = at_last_x(table[table["metric"] == "best_mse_change_when_grid_doubled"])
    if best.empty or change.empty:
        return False, None
    merged = change.merge(best[[*SETTING, "ci_low", "ci_high"]].rename(columns={"ci_low": "lo", "ci_high": "hi"}),
                          on=SETTING)
    excess = merged["mean"].abs() / (0.5 * (merged["hi"] - merged["lo"])).clip(lower=1e-300)
    worst = merged.loc[excess.idxmax()]
    estimate = Estimate(float(worst["mean"]), float(worst["ci_low"]), float(worst["ci_high"]), int(worst["n_seeds"]))
    return bool((excess <= 1.0).all()), estimate


def _interior(table: pd.DataFrame) -> tuple[bool, Estimate | None]:
    """Holds when every method's best step size after the last budget lies strictly inside the grid."""
    grid = pd.to_numeric(table["step_size"], errors="coerce").dropna()
    best = at_last_x(table[table["metric"] == "mse_at_best_step_size"])
    if best.empty:
        return False, None
    return bool(((best["step_size"] > grid.min()) & (best["step_size"] < grid.max())).all()), None


QTD_PRECONDITIONS = (
    Precondition("grid_fine_enough", "for every setting and method, the best-step-size MSE on the grid and on every "
                 "other of its step sizes differ by less than half its 95% CI's width", _grid_fine_enough),
    Precondition("best_step_sizes_interior", "every method's best step size lies strictly inside the step-size grid",
                 _interior),
)


@register
class QTD(Study):
    name = "qtd"
    accelerated = False  # NumPy/SciPy: one CPU thread, never a GPU
    run_resources = {"mem_mb": 2000, "runtime": 30}
    job_group = "tabular"  # short jobs: one SLURM submission for many
    paper = "Rowland et al. 2023, 'The statistical benefits of quantile temporal-difference learning for value estimation'"
    summary = "MSE of the value estimate of TD and QTD vs step size and updates, across reward noise"
    figures = ("mse_vs_step_size.png", "mse_at_best_step_size.png", "qtd_vs_td.png")
    claims = (
        Claim(id="qtd_beats_td_with_stochastic_rewards",
              text="QTD's mean-of-quantiles estimate has lower MSE than TD's when rewards are stochastic, "
                   "increasingly so as stochasticity grows",
              statistic_name="log10(MSE_QTD / MSE_TD), each at its own best step size, after the last budget, "
                             "paired by seed, per environment × reward noise (≠ none) × γ × m",
              direction="less", statistic=_ratios(noisy=True), preconditions=QTD_PRECONDITIONS),
        Claim(id="td_beats_qtd_with_deterministic_rewards",
              text="In near-deterministic environments TD is the better value estimator (QTD keeps a small bias)",
              statistic_name="log10(MSE_QTD / MSE_TD) as above, deterministic rewards",
              direction="greater", statistic=_ratios(noisy=False), preconditions=QTD_PRECONDITIONS),
    )

    def variants(self, study_config: dict[str, Any]) -> list[str]:
        return list(study_config["environments"])

    def job_seeds(self, study_config: dict[str, Any]) -> list[int]:
        return list(range(job_count(study_config)))

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        config = {k: v for k, v in study_config.items() if k not in ("enabled", "environments", "plot")}
        config.update(variant=variant, environment=study_config["environments"][variant])
        return config

    def check(self, study_config: dict[str, Any]) -> None:
        for env, spec in study_config["environments"].items():
            for noise, noise_spec in study_config["noise"].items():
                for gamma in study_config["discounts"]:
                    try:
                        build_mrp(spec, gamma, noise_spec)
                    except (KeyError, ValueError) as error:
                        raise type(error)(f"environments.{env} / noise.{noise}: {error.args[0]}") from None
        make_schedule(study_config.get("schedule"))

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        config = run.config
        seeds = batch_seeds(config, run.seed)
        step_sizes = step_size_grid(config["step_sizes"])
        learners = learners_for(config["quantiles"])
        frames = []
        updates = sorted(int(u) for u in config["updates"])
        for noise, noise_spec in config["noise"].items():
            for gamma in config["discounts"]:
                mrp = build_mrp(config["environment"], float(gamma), noise_spec)
                errors = run_grid(mrp, learners, step_sizes, len(seeds), updates,
                                  batch_rng(run.seed, run.variant, noise, gamma), make_schedule(config.get("schedule")),
                                  progress=f"qtd/{run.variant}/{noise}/γ={gamma}")
                for name, values in errors.items():  # (checkpoints, seeds, step sizes)
                    u, s, a = np.meshgrid(updates, seeds, step_sizes, indexing="ij")
                    frames.append(pd.DataFrame({"seed": s.ravel(), "updates": u.ravel(), "step_size": a.ravel(),
                                                "method": name, "noise": noise, "noise_type": noise_spec["name"],
                                                "gamma": float(gamma), "value": values.ravel()}))
                log.info("%s, %s noise, γ=%s: final MSE at best step size %s", run.variant, noise, gamma,
                         {name: float(v[-1].mean(axis=0).min()) for name, v in errors.items()})
        frame = pd.concat(frames, ignore_index=True)
        return frame.assign(variant=run.variant, environment=run.variant, metric="mse")

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """MSE per step size and budget; MSE at each method's best step size; QTD/TD ratio there.

        A (method, step size) that diverged in any seed (MSE = inf or beyond ``DIVERGED``) has no
        finite mean: it is left out of the MSE rows, never a best step size, and counted in
        ``diverged_fraction`` rows so the table says it happened.
        """
        from plasticlab.analysis import summarise

        setting = [*KEYS, "step_size", "updates"]
        diverged = ~np.isfinite(metrics["value"]) | (metrics["value"] > DIVERGED)
        fraction = (metrics.assign(value=diverged.astype(float)).groupby(setting, as_index=False)["value"]
                    .agg(mean="mean", n_seeds="size").rename(columns={"updates": "x"}).assign(metric="diverged_fraction"))
        fraction = fraction[fraction["mean"] > 0]
        fraction = fraction.assign(ci_low=fraction["mean"], ci_high=fraction["mean"])
        if diverged.any():
            log.warning("%d of %d (seed, method, step size, budget) entries diverged; their settings are left out",
                        int(diverged.sum()), len(metrics))
        bad = metrics.loc[diverged, setting].drop_duplicates().assign(_bad=True)
        metrics = metrics.merge(bad, on=setting, how="left")
        metrics = metrics[metrics["_bad"].isna()].drop(columns="_bad")
        per_step_size = summarise(metrics, x="updates", group=[*KEYS, "step_size"])
        best = best_step_size(metrics)
        at_best = summarise(best, x="updates", group=[*KEYS, "step_size"])
        ratio = summarise(ratio_to_td(best), x="updates", group=[*KEYS, "step_size"])
        half, change = grid_refinement(metrics, best)
        refinement = [summarise(half, x="updates", group=[*KEYS, "step_size"]), summarise(change, x="updates", group=KEYS)]
        return pd.concat([per_step_size, at_best, ratio, *refinement, fraction], ignore_index=True)

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.tabular.figures import log_panels

        out_dir.mkdir(parents=True, exist_ok=True)
        final = table["x"].max()
        methods = sorted(set(table["method"]), key=lambda m: (m != "td", len(m), m))
        panels = ["environment", "noise", "gamma"]
        curves = table[(table["metric"] == "mse") & (table["x"] == final)]
        written = [log_panels(curves, out_dir / "mse_vs_step_size.png", panels=panels, series="method", x="step_size",
                              xlabel="step size α", ylabel="MSE of value estimate", series_order=methods,
                              title=f"MSE after {final} updates vs step size (mean, 95% CI over seeds)",
                              provenance=provenance)]
        best = table[table["metric"] == "mse_at_best_step_size"]
        written.append(log_panels(best, out_dir / "mse_at_best_step_size.png", panels=panels, series="method",
                                  xlabel="synchronous updates", ylabel="MSE at best step size", series_order=methods,
                                  title="MSE at each method's best step size per budget", provenance=provenance))
        written.append(self._ratio_heatmap(table, out_dir / "qtd_vs_td.png", final, provenance))
        return written

    @staticmethod
    def _ratio_heatmap(table: pd.DataFrame, path: Path, final: float, provenance: dict[str, Any]) -> Path:
        """log10(MSE_QTD/MSE_TD) at the best step sizes after the last budget: blue where QTD wins."""
        import matplotlib.pyplot as plt

        from plasticlab.analysis.plotting import STYLE, save_figure

        ratio = table[(table["metric"] == "log10_mse_ratio_to_td") & (table["x"] == final)]
        methods = sorted(set(ratio["method"]), key=lambda m: (len(m), m))
        rows = ratio.assign(row=ratio["environment"] + "  γ=" + ratio["gamma"].astype(str))
        row_names = sorted(set(rows["row"]))
        noises = list(dict.fromkeys(ratio["noise"]))
        limit = max(float(np.abs(ratio["mean"]).max()) if len(ratio) else 1.0, 0.1)
        with plt.rc_context({**STYLE, "axes.grid": False}):
            fig, axes = plt.subplots(1, max(len(methods), 1), figsize=(1.1 * len(noises) * max(len(methods), 1) + 3.0,
                                                                       0.5 * len(row_names) + 2.2), squeeze=False)
            image = None
            for ax, method in zip(axes[0], methods):
                grid = rows[rows["method"] == method].pivot_table(index="row", columns="noise", values="mean")
                grid = grid.reindex(index=row_names, columns=noises)
                significant = rows[rows["method"] == method].assign(sig=lambda t: (t["ci_high"] < 0) | (t["ci_low"] > 0))
                marks = significant.pivot_table(index="row", columns="noise", values="sig").reindex(index=row_names, columns=noises)
                image = ax.imshow(grid.to_numpy(dtype=float), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
                for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
                    if np.isfinite(value):
                        star = "*" if marks.to_numpy()[i, j] == 1 else ""
                        ax.text(j, i, f"{value:+.2f}{star}", ha="center", va="center", fontsize=8)
                ax.set_xticks(range(len(noises)), noises, rotation=30, ha="right")
                ax.set_yticks(range(len(row_names)), row_names)
                ax.set_title(method)
            if image is not None:
                fig.colorbar(image, ax=axes[0].tolist(), label="log10 MSE ratio QTD / TD")
            fig.suptitle(f"QTD vs TD at their best step sizes after {final} updates (blue: QTD better; * 95% CI excludes 0)",
                         fontsize=10, y=1.02)
            return save_figure(fig, path, provenance)
