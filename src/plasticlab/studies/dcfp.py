"""Model-based distributional RL with a generative model: DCFP vs categorical and quantile DP
(Rowland et al. 2024, "Near-minimax-optimal distributional reinforcement learning with a generative model").

Claims: the categorical fixed point of the certainty-equivalent model (computed by DCFP) approaches
the true return distributions at the minimax rate, error ∝ N^(−1/2) in the number N of samples per
state; it is the same fixed point that iterated categorical DP reaches; and solving for it directly
(one sparse linear solve) is faster than iterating categorical DP to the same tolerance.

Settings and sources: environments (chain, two-state; low/high random in the paper config), the
methods and the worst-state W1 to a Monte Carlo truth follow the paper's experiments (Sec. 6). The
support is the paper's [r_min, r_max]/(1 − γ). The number of atoms is either fixed (``atoms: [15]``,
the paper sweeps m) or grows with N by the rule of :mod:`plasticlab.tabular.representation`
(``{rule: sqrt_samples, scale: c}``: m = 1 + ⌈c√(N/(1 − γ))⌉), under which the representation error
stays below the sampling error as N grows — the regime the paper's rate is about. With a fixed m
the error meets a floor and the curve goes flat (15 atoms on the chain: W1 ≈ 0.45 at every N).

Each job also measures the floor itself: every method on the *true* model with the same atoms
(error at N = ∞), drawn dotted under its curve. The table adds, per seed, the slope of log error vs
log N (least squares over the configured N), the error at each N minus twice the floor (> 0 means
sampling error exceeds representation error: error ≤ sampling + representation), and the worst-state
W1 between DCFP's and categorical DP's solutions. Sampled models are merged (repeated (reward,
next state) pairs summed) before solving: the same model, cheaper at large N.

Variants are the environments, plus ``scaling``: wall-clock of DCFP vs iterated categorical DP as
the number of states and atoms grows. Each job runs a batch of seeds (default: all, in ``seed=0``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from plasticlab.analysis.claims import Claim, Estimate, Precondition, table_estimate, verdict
from plasticlab.studies import register
from plasticlab.studies.base import RunSpec, Study
from plasticlab.tabular import build_mrp, empirical_model, merge_duplicates, true_model
from plasticlab.tabular.batches import batch_rng, batch_seeds, job_count
from plasticlab.tabular.dcfp import time_dcfp_vs_dp
from plasticlab.tabular.distances import uniform, wasserstein1
from plasticlab.tabular.methods import get_method
from plasticlab.tabular.monte_carlo import sample_returns
from plasticlab.tabular.mrp import MRP
from plasticlab.tabular.projections import atoms_between
from plasticlab.tabular.representation import atoms_for, atoms_label, check_atoms, paper_support

log = logging.getLogger(__name__)
SCALING = "scaling"
GROUP = ["variant", "metric", "gamma", "atoms", "method"]
RATE, RATE_MARGIN = -0.5, 0.15  # the minimax exponent, and how far a fitted slope may sit from it
EQUAL_W1 = 1e-3  # DCFP and iterated categorical DP agree to this in W1 (the errors compared are ≥ 10⁻²)


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


def worst_state_gap(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> float:
    """max over states of W1 between two methods' solutions."""
    return max(wasserstein1(a, p, b, q) for a, p, b, q in zip(*first, *second))


def log_log_slopes(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per seed and setting: least-squares slope of log W1 against log N, as run rows at the largest N."""
    errors = metrics[(metrics["metric"] == "w1_max") & (metrics["value"] > 0)]
    keys = ["variant", "gamma", "atoms", "method", "seed"]
    rows = []
    for key, group in errors.groupby(keys, sort=False):
        if group["samples"].nunique() < 2:
            continue
        slope = np.polyfit(np.log(group["samples"].to_numpy(dtype=float)), np.log(group["value"].to_numpy()), 1)[0]
        rows.append({**dict(zip(keys, key)), "samples": int(group["samples"].max()), "metric": "log_w1_slope",
                     "value": float(slope)})
    return pd.DataFrame(rows)


def _rule_rows(table: pd.DataFrame, metric: str, method: str = "dcfp") -> pd.DataFrame:
    """``metric`` rows of ``method`` with atoms set by a rule (a label that is not a number)."""
    rows = table[(table["metric"] == metric) & (table["method"] == method)]
    return rows[~rows["atoms"].astype(str).str.fullmatch(r"\d+")]


def _per_setting(metric: str):
    def statistic(table: pd.DataFrame) -> dict[str, Estimate]:
        rows = _rule_rows(table, metric)
        out = {}
        for (variant, gamma, atoms), _ in rows.groupby(["variant", "gamma", "atoms"], sort=False):
            case = f"{variant} γ={float(gamma):g} {atoms}"
            out[case] = table_estimate(rows, metric, variant=variant, gamma=gamma, atoms=atoms)
        return out
    return statistic


def _representation_below_sampling(table: pd.DataFrame) -> tuple[bool, Estimate | None]:
    """Holds when, in every rule-atoms setting, DCFP's error at the largest N exceeds twice its
    floor by CI: then the sampling error (≥ error − floor) is larger than the representation error."""
    values = _per_setting("w1_max_minus_2_floor")(table)
    if not values:
        return False, None
    weakest = min(values.values(), key=lambda e: e.ci_low)
    return verdict(weakest, "greater") == "reproduced", weakest


def _speedups(table: pd.DataFrame) -> dict[str, Estimate]:
    rows = table[(table["variant"] == SCALING) & (table["metric"] == "log10_speedup_of_dcfp")]
    return {f"states={int(states)} γ={float(gamma):g}": table_estimate(rows, "log10_speedup_of_dcfp", states=states,
                                                                           gamma=gamma)
            for (states, gamma), _ in rows.groupby(["states", "gamma"], sort=False)}


REPRESENTATION_BELOW_SAMPLING = Precondition(
    "representation_below_sampling",
    "in every setting, DCFP's worst-state W1 at the largest N exceeds twice its representation floor (the error "
    "on the true model) by CI, so the sampling error the rate is about dominates",
    _representation_below_sampling)


@register
class DCFP(Study):
    name = "dcfp"
    accelerated = False  # NumPy/SciPy: one CPU thread, never a GPU
    run_resources = {"mem_mb": 2000, "runtime": 30}
    job_group = "tabular"  # short jobs: one SLURM submission for many
    paper = "Rowland et al. 2024, 'Near-minimax-optimal distributional reinforcement learning with a generative model'"
    summary = "return-distribution error vs samples per state for DCFP, categorical DP, quantile DP; solve time"
    figures = ("w1_vs_samples.png", "w1_vs_time.png", "solve_time.png")
    claims = (
        Claim(id="dcfp_rate_not_slower_than_root_n",
              text="DCFP's return-distribution error falls at the minimax rate N^(-1/2) (up to log factors)",
              statistic_name=f"slope of log worst-state W1 vs log N (DCFP, atoms growing with N), mean over seeds; "
                             f"reproduced if below {RATE + RATE_MARGIN:g} (with the next claim: within "
                             f"±{RATE_MARGIN:g} of -1/2)",
              direction="less", null=RATE + RATE_MARGIN, statistic=_per_setting("log_w1_slope"),
              preconditions=(REPRESENTATION_BELOW_SAMPLING,)),
        Claim(id="dcfp_rate_not_faster_than_root_n",
              text="DCFP's return-distribution error falls at the minimax rate N^(-1/2) (no estimator does better)",
              statistic_name=f"the same slope; reproduced if above {RATE - RATE_MARGIN:g}",
              direction="greater", null=RATE - RATE_MARGIN, statistic=_per_setting("log_w1_slope"),
              preconditions=(REPRESENTATION_BELOW_SAMPLING,)),
        Claim(id="dcfp_equals_categorical_dp",
              text="DCFP computes the categorical fixed point that categorical dynamic programming converges to",
              statistic_name=f"worst-state W1 between DCFP's and iterated categorical DP's solutions at the largest N; "
                             f"reproduced if below {EQUAL_W1:g}",
              direction="less", null=EQUAL_W1, statistic=_per_setting("w1_dcfp_to_categorical_dp")),
        Claim(id="dcfp_faster_than_categorical_dp",
              text="Solving for the categorical fixed point directly is faster than iterating categorical DP",
              statistic_name="log10(categorical DP wall-clock / DCFP wall-clock) at the most atoms, per state count",
              direction="greater", statistic=_speedups),
    )

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
        for i, spec in enumerate(study_config["atoms"]):
            try:
                check_atoms(spec)
            except (KeyError, ValueError) as error:
                raise type(error)(f"atoms[{i}]: {error.args[0]}") from None
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
            bounds = paper_support(mrp.reward_bounds(), mrp.gamma)  # type: ignore[arg-type]
            floors = FloorCache(true_model(mrp), truth, bounds, tol)
            rng = batch_rng(run.seed, run.variant, gamma)
            grid = [(n, seed) for n in config["samples"] for seed in seeds]
            for n, seed in tqdm(grid, desc=f"dcfp/{run.variant}/γ={gamma}", mininterval=2.0):
                model = merge_duplicates(empirical_model(mrp, int(n), rng))  # shared by all methods and atom counts
                for spec in config["atoms"]:
                    n_atoms = atoms_for(spec, int(n), float(gamma))
                    common = dict(seed=seed, gamma=float(gamma), atoms=atoms_label(spec), samples=int(n))
                    solutions = {}
                    for method in config["methods"]:
                        start = time.perf_counter()
                        atoms, probs, iterations = get_method(method)(model, n_atoms, bounds, tol)
                        seconds = time.perf_counter() - start
                        solutions[method] = (atoms, probs)
                        error, floor = worst_state_w1(atoms, probs, truth), floors(method, n_atoms)
                        at = dict(common, method=method)
                        rows += [dict(at, metric="w1_max", value=error), dict(at, metric="seconds", value=seconds),
                                 dict(at, metric="iterations", value=float(iterations)),
                                 dict(at, metric="n_atoms", value=float(n_atoms)),
                                 dict(at, metric="w1_floor", value=floor),
                                 dict(at, metric="w1_max_minus_2_floor", value=error - 2.0 * floor)]
                    if {"dcfp", "categorical_dp"} <= set(solutions):
                        gap = worst_state_gap(solutions["dcfp"], solutions["categorical_dp"])
                        rows.append(dict(common, method="dcfp", metric="w1_dcfp_to_categorical_dp", value=gap))
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
            atoms = atoms_between(*paper_support(mrp.reward_bounds(), gamma), int(n_atoms))  # type: ignore[arg-type]
            timing = time_dcfp_vs_dp(model, atoms, tol)
            common = dict(seed=seed, gamma=gamma, states=int(states), atoms=int(n_atoms))
            speedup = timing.dp_seconds / timing.dcfp_seconds
            rows += [dict(common, method="dcfp", metric="seconds", value=timing.dcfp_seconds),
                     dict(common, method="categorical_dp", metric="seconds", value=timing.dp_seconds),
                     dict(common, method="categorical_dp", metric="iterations", value=float(timing.iterations)),
                     dict(common, method="categorical_dp", metric="cdf_gap_to_dcfp", value=timing.cdf_gap),
                     dict(common, method="categorical_dp", metric="speedup_of_dcfp", value=speedup),
                     dict(common, method="categorical_dp", metric="log10_speedup_of_dcfp", value=float(np.log10(speedup)))]
        return pd.DataFrame(rows)

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """Per environment: each metric vs N (x = samples per state) and the per-seed log-log slope
        (x = the largest N); scaling: vs atoms per state count."""
        from plasticlab.analysis import summarise

        scaling = metrics["variant"] == SCALING
        parts = []
        if (~scaling).any():
            errors = metrics[~scaling].assign(atoms=lambda t: t["atoms"].astype(str))
            parts.append(summarise(errors, x="samples", group=GROUP))
            slopes = log_log_slopes(errors)
            if len(slopes):
                parts.append(summarise(slopes, x="samples", group=GROUP))
        if scaling.any():
            timings = metrics[scaling].assign(atoms=lambda t: pd.to_numeric(t["atoms"]))  # mixed with labels above
            parts.append(summarise(timings, x="atoms", group=["variant", "metric", "gamma", "states", "method"]))
        table = pd.concat(parts, ignore_index=True)
        return table.assign(x=pd.to_numeric(table["x"]))

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.tabular.figures import error_vs_samples, log_panels

        out_dir.mkdir(parents=True, exist_ok=True)
        envs = table[table["variant"] != SCALING]
        methods = [m for m in ("dcfp", "categorical_dp", "quantile_dp") if m in set(table["method"])]
        methods += sorted(set(envs["method"]) - set(methods))
        panels = ["variant", "gamma", "atoms"]
        written = [error_vs_samples(envs[envs["metric"] == "w1_max"], envs[envs["metric"] == "w1_floor"],
                                    out_dir / "w1_vs_samples.png", panels=panels, series_order=methods,
                                    provenance=provenance,
                                    title="Worst-state W1 vs samples per state (mean, 95% CI over seeds); dotted: "
                                          "error on the true model (representation floor)")]
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


class FloorCache:
    """Each method's error on the true model (N = ∞) per atom count, computed once per job."""

    def __init__(self, model: Any, truth: np.ndarray, bounds: tuple[float, float], tol: float) -> None:
        self.model, self.truth, self.bounds, self.tol = model, truth, bounds, tol
        self._cache: dict[tuple[str, int], float] = {}

    def __call__(self, method: str, n_atoms: int) -> float:
        key = (method, n_atoms)
        if key not in self._cache:
            atoms, probs, _ = get_method(method)(self.model, n_atoms, self.bounds, self.tol)
            self._cache[key] = worst_state_w1(atoms, probs, self.truth)
        return self._cache[key]
