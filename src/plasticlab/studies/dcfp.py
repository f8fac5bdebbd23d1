"""Model-based distributional RL with a generative model: DCFP vs categorical and quantile DP
(Rowland et al. 2024, "Near-minimax-optimal distributional reinforcement learning with a generative model").

Claims: the categorical fixed point of the certainty-equivalent model (computed by DCFP) approaches
the true return distributions at the minimax rate in the number N of samples per state, no worse
than quantile DP; and solving for it directly (one sparse linear solve) is faster than iterating
categorical DP to the same tolerance, increasingly so as γ → 1 and as atoms grow.

Variants are the environments, plus ``scaling``: wall-clock of DCFP vs iterated categorical DP as
the number of states and atoms grows. Each job runs a batch of seeds (default: all, in ``seed=0``);
the methods are timed one model at a time, since wall-clock per solve is a result, while all
states, samples and atoms of one solve are arrays. Error = worst-state Wasserstein-1 distance to a
Monte Carlo ground truth of the true MRP (shared by all jobs; its own W1 error is ~n^(−1/2)).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from plasticlab.studies import register
from plasticlab.studies.base import RunSpec, Study
from plasticlab.tabular import build_mrp, empirical_model
from plasticlab.tabular.dcfp import time_dcfp_vs_dp
from plasticlab.tabular.batches import batch_rng, batch_seeds, job_count
from plasticlab.tabular.distances import uniform, wasserstein1
from plasticlab.tabular.methods import get_method, support
from plasticlab.tabular.monte_carlo import sample_returns
from plasticlab.tabular.mrp import MRP
from plasticlab.tabular.projections import atoms_between

log = logging.getLogger(__name__)
SCALING = "scaling"


def environment_mrp(spec: dict[str, Any], gamma: float) -> MRP:
    spec = dict(spec)
    noise = spec.pop("noise", None)
    mrp = build_mrp(spec, gamma, noise)
    if mrp.reward_bounds() is None:
        raise ValueError(f"reward noise {mrp.noise!r} is unbounded; the categorical support needs bounded rewards")
    return mrp


def worst_state_w1(atoms: np.ndarray, probs: np.ndarray, truth: np.ndarray) -> float:
    """max over states of W1(estimate(x), Monte Carlo sample of returns from x)."""
    return max(wasserstein1(a, p, t, uniform(t)) for a, p, t in zip(atoms, probs, truth))


@register
class DCFP(Study):
    name = "dcfp"
    accelerated = False  # NumPy/SciPy: one CPU thread, never a GPU
    run_resources = {"mem_mb": 2000, "runtime": 30}
    job_group = "tabular"  # short jobs: one SLURM submission for many
    paper = "Rowland et al. 2024, 'Near-minimax-optimal distributional reinforcement learning with a generative model'"
    summary = "return-distribution error vs samples per state for DCFP, categorical DP, quantile DP; solve time"
    figures = ("w1_vs_samples.png", "w1_vs_time.png", "solve_time.png")

    def variants(self, study_config: dict[str, Any]) -> list[str]:
        return [*study_config["environments"], *([SCALING] if study_config.get("scaling") else [])]

    def job_seeds(self, study_config: dict[str, Any]) -> list[int]:
        return list(range(job_count(study_config)))

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        config = {k: v for k, v in study_config.items() if k not in ("enabled", "environments", "scaling", "plot")}
        config["variant"] = variant
        if variant == SCALING:
            config = {k: config[k] for k in ("seeds", "seeds_per_job", "variant") if k in config}
            config["scaling"] = study_config["scaling"]
        else:
            config["environment"] = study_config["environments"][variant]
        return config

    def check(self, study_config: dict[str, Any]) -> None:
        if SCALING in study_config["environments"]:
            raise ValueError(f"environments.{SCALING}: the name is reserved for the timing sweep")
        for method in study_config["methods"]:
            get_method(method)
        for name, spec in study_config["environments"].items():
            for gamma in study_config["discounts"]:
                try:
                    environment_mrp(spec, gamma)
                except (KeyError, ValueError) as error:
                    raise type(error)(f"environments.{name}: {error.args[0]}") from None

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        frame = self._scaling(run) if run.variant == SCALING else self._errors(run)
        return frame.assign(variant=run.variant)

    def _errors(self, run: RunSpec) -> pd.DataFrame:
        config, rows = run.config, []
        seeds = batch_seeds(config, run.seed)
        tol = float(config["tolerance"])
        for gamma in config["discounts"]:
            mrp = environment_mrp(config["environment"], float(gamma))
            truth_rng = batch_rng(0, "ground-truth", run.variant, gamma)  # the same for every job
            truth = sample_returns(mrp, int(config["monte_carlo_samples"]), truth_rng)
            bounds = support(mrp.reward_bounds(), mrp.gamma)  # type: ignore[arg-type]
            rng = batch_rng(run.seed, run.variant, gamma)
            grid = [(n, seed) for n in config["samples"] for seed in seeds]
            for n, seed in tqdm(grid, desc=f"dcfp/{run.variant}/γ={gamma}", mininterval=2.0):
                model = empirical_model(mrp, int(n), rng)  # shared by all methods and atom counts
                for n_atoms in config["atoms"]:
                    for method in config["methods"]:
                        start = time.perf_counter()
                        atoms, probs, iterations = get_method(method)(model, int(n_atoms), bounds, tol)
                        seconds = time.perf_counter() - start
                        error = worst_state_w1(atoms, probs, truth)
                        common = dict(seed=seed, gamma=float(gamma), atoms=int(n_atoms), samples=int(n), method=method)
                        rows += [dict(common, metric="w1_max", value=error), dict(common, metric="seconds", value=seconds),
                                 dict(common, metric="iterations", value=float(iterations))]
            log.info("γ=%s: %d models × %d methods done", gamma, len(grid), len(config["methods"]))
        return pd.DataFrame(rows)

    def _scaling(self, run: RunSpec) -> pd.DataFrame:
        """Time DCFP's solve and categorical DP iterated until its CDFs move less than ``tolerance``."""
        config, rows = run.config["scaling"], []
        seeds = batch_seeds(run.config, run.seed)
        gamma, tol = float(config["gamma"]), float(config["tolerance"])
        grid = [(s, k, seed) for s in config["states"] for k in config["atoms"] for seed in seeds]
        for states, n_atoms, seed in tqdm(grid, desc="dcfp/scaling", mininterval=2.0):
            mrp = build_mrp({"name": "random", "states": int(states), "concentration": float(config["concentration"]),
                             "env_seed": int(seed)}, gamma)
            model = empirical_model(mrp, int(config["samples"]), batch_rng(run.seed, "scaling", states, seed))
            atoms = atoms_between(*support(mrp.reward_bounds(), gamma), int(n_atoms))  # type: ignore[arg-type]
            timing = time_dcfp_vs_dp(model, atoms, tol)
            common = dict(seed=seed, gamma=gamma, states=int(states), atoms=int(n_atoms))
            rows += [dict(common, method="dcfp", metric="seconds", value=timing.dcfp_seconds),
                     dict(common, method="categorical_dp", metric="seconds", value=timing.dp_seconds),
                     dict(common, method="categorical_dp", metric="iterations", value=float(timing.iterations)),
                     dict(common, method="categorical_dp", metric="cdf_gap_to_dcfp", value=timing.cdf_gap),
                     dict(common, method="categorical_dp", metric="speedup_of_dcfp",
                          value=timing.dp_seconds / timing.dcfp_seconds)]
        return pd.DataFrame(rows)

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """Per environment: each metric vs N (x = samples per state); scaling: vs atoms per state count."""
        from plasticlab.analysis import summarise

        scaling = metrics["variant"] == SCALING
        parts = []
        if (~scaling).any():
            parts.append(summarise(metrics[~scaling], x="samples", group=["variant", "metric", "gamma", "atoms", "method"]))
        if scaling.any():
            parts.append(summarise(metrics[scaling], x="atoms", group=["variant", "metric", "gamma", "states", "method"]))
        return pd.concat(parts, ignore_index=True)

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.tabular.figures import log_panels

        out_dir.mkdir(parents=True, exist_ok=True)
        envs = table[table["variant"] != SCALING]
        methods = [m for m in ("dcfp", "categorical_dp", "quantile_dp") if m in set(table["method"])]
        methods += sorted(set(table["method"]) - set(methods))
        panels = ["variant", "gamma", "atoms"]
        written = [log_panels(envs[envs["metric"] == "w1_max"], out_dir / "w1_vs_samples.png", panels=panels,
                              series="method", xlabel="samples per state N", ylabel="max-state W1 to truth",
                              series_order=methods, provenance=provenance, dashed=("dcfp",),
                              title="Return-distribution error vs samples per state (mean, 95% CI over seeds)")]
        keys = ["variant", "gamma", "atoms", "method", "x"]
        timed = envs[envs["metric"] == "w1_max"].merge(
            envs.loc[envs["metric"] == "seconds", [*keys, "mean"]].rename(columns={"mean": "seconds"}), on=keys)
        written.append(log_panels(timed, out_dir / "w1_vs_time.png", panels=panels, series="method", x="seconds",
                                  xlabel="wall-clock per model (s)", ylabel="max-state W1 to truth",
                                  series_order=methods, provenance=provenance, bands=False, dashed=("dcfp",),
                                  title="Error vs computation (points: N samples per state)"))
        scaling = table[(table["variant"] == SCALING) & (table["metric"] == "seconds")]
        written.append(log_panels(scaling, out_dir / "solve_time.png", panels=["states", "gamma"], series="method",
                                  xlabel="atoms K", ylabel="wall-clock (s)", series_order=["dcfp", "categorical_dp"],
                                  provenance=provenance,
                                  title="DCFP's linear solve vs categorical DP iterated to the same tolerance"))
        return written
