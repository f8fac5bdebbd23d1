"""The qtd and dcfp studies end to end on tiny configs: train → aggregate → plot, and config errors."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.analysis import read_png_provenance
from plasticlab.analysis.claims import evaluate_claim
from plasticlab.studies.base import RunSpec

QTD = {"seeds": 5, "seeds_per_job": 3, "discounts": [0.5], "updates": [5, 100], "step_sizes": [0.1, 0.5, 3.0],
       "quantiles": [4], "environments": {"chain": {"name": "chain", "states": 3}},
       "noise": {"none": {"name": "none"}, "t": {"name": "heavy_tailed", "scale": 1.0}}}
DCFP = {"seeds": 3, "discounts": [0.8], "atoms": [11, {"rule": "sqrt_samples", "scale": 1.0}], "samples": [5, 50],
        "methods": ["dcfp", "categorical_dp", "quantile_dp"],
        "tolerance": 1e-9, "monte_carlo_samples": 2000, "environments": {"two_state": {"name": "two_state"}},
        "scaling": {"states": [4], "atoms": [5, 9], "samples": 5, "gamma": 0.8, "tolerance": 1e-9, "concentration": 1.0}}


def _run_all(name: str, section: dict, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    config = {"studies": {name: section}}
    cfg.check_config(config)
    study = studies.get(name)
    frames = [study.train(RunSpec(name, v, job, cfg.run_config(config, name, v), tmp_path / v))
              for v in cfg.variants(config, name) for job in cfg.seeds(config, name)]
    metrics = pd.concat(frames, ignore_index=True)
    table = study.aggregate(metrics, section)
    written = study.plot(table, tmp_path / "figures", {"inputs": ["table.csv"]})
    assert [p.name for p in written] == list(study.figures)
    assert all(p.stat().st_size > 10_000 and read_png_provenance(p) == {"inputs": ["table.csv"]} for p in written)
    return metrics, table


def test_qtd_study_batches_seeds_and_finds_best_step_sizes(tmp_path):
    assert cfg.seeds({"studies": {"qtd": QTD}}, "qtd") == [0, 1]  # 5 seeds in batches of 3
    metrics, table = _run_all("qtd", QTD, tmp_path)
    assert sorted(metrics["seed"].unique()) == [0, 1, 2, 3, 4]
    assert set(metrics["method"]) == {"td", "qtd_m4"} and set(metrics["noise"]) == {"none", "t"}
    mse = table[table["metric"] == "mse"]
    assert (mse["n_seeds"] == 5).all() and (mse["ci_low"] <= mse["mean"]).all()
    # TD with α = 3 > 2 diverges: reported, and never chosen as best
    diverged = table[table["metric"] == "diverged_fraction"]
    assert set(diverged["method"]) == {"td"} and set(diverged["step_size"]) == {3.0}
    best = table[(table["metric"] == "mse_at_best_step_size") & (table["x"] == 100)]
    assert len(best) == 4 and (best.loc[best["method"] == "td", "step_size"] < 3.0).all()
    for (noise, method), rows in mse[mse["x"] == 100].groupby(["noise", "method"]):
        assert best[(best["noise"] == noise) & (best["method"] == method)]["mean"].iloc[0] == pytest.approx(rows["mean"].min())
    ratio = table[table["metric"] == "log10_mse_ratio_to_td"]
    assert set(ratio["method"]) == {"qtd_m4"} and len(ratio) == 4


def test_dcfp_study_errors_and_timings(tmp_path):
    metrics, table = _run_all("dcfp", DCFP, tmp_path)
    errors = metrics[metrics["variant"] != "scaling"]
    w1 = errors[errors["metric"] == "w1_max"].pivot_table(index=["seed", "samples", "atoms"], columns="method", values="value")
    np.testing.assert_allclose(w1["dcfp"], w1["categorical_dp"], atol=1e-6)  # same fixed point
    assert (w1.to_numpy() > 0).all() and (w1.to_numpy() < 4.0).all()  # returns lie in [0, 5]
    n_atoms = errors[errors["metric"] == "n_atoms"].groupby(["atoms", "samples"])["value"].unique()
    assert n_atoms.to_dict() == {("11", 5): [11.0], ("11", 50): [11.0], ("sqrt_samples(scale=1.0)", 5): [6.0],
                                 ("sqrt_samples(scale=1.0)", 50): [17.0]}  # 1 + ⌈√(N/0.2)⌉
    floor = errors[errors["metric"] == "w1_floor"].groupby(["atoms", "samples", "method"])["value"].nunique()
    assert (floor == 1).all()  # the error on the true model does not depend on the seed
    slopes = table[table["metric"] == "log_w1_slope"]
    assert len(slopes) == 6 and (slopes["x"] == 50).all() and (slopes["n_seeds"] == 3).all()
    gap = table[table["metric"] == "w1_dcfp_to_categorical_dp"]
    assert len(gap) == 4 and (gap["mean"] < 1e-5).all()
    scaling = table[table["variant"] == "scaling"]
    assert set(scaling["metric"]) == {"seconds", "iterations", "cdf_gap_to_dcfp", "speedup_of_dcfp", "log10_speedup_of_dcfp"}
    assert (scaling.loc[scaling["metric"] == "cdf_gap_to_dcfp", "mean"] < 1e-7).all()
    rows = [r for claim in studies.get("dcfp").claims for r in evaluate_claim(claim, table)]
    assert {r["claim_id"].split("[")[0] for r in rows} == {c.id for c in studies.get("dcfp").claims}
    assert {r["verdict"] for r in rows if r["claim_id"].startswith("dcfp_equals")} == {"reproduced"}


def _dcfp_runs(error: callable, floor: float, seeds: int = 8) -> pd.DataFrame:
    """Rule-atom DCFP rows with w1 = error(N, seed) and a constant floor, as the study writes them."""
    rows = []
    for seed in range(seeds):
        for n in (10, 100, 1000):
            common = {"variant": "env", "gamma": 0.9, "atoms": "sqrt_samples(scale=4)", "method": "dcfp", "seed": seed,
                      "samples": n}
            value = error(n, seed)
            rows += [{**common, "metric": "w1_max", "value": value},
                     {**common, "metric": "w1_max_minus_2_floor", "value": value - 2 * floor},
                     {**common, "metric": "w1_dcfp_to_categorical_dp", "value": 1e-6}]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("error, floor, not_slower, not_faster", [
    (lambda n, s: (1 + 0.05 * s) / np.sqrt(n), 0.001, "reproduced", "reproduced"),  # exactly N^(-1/2)
    (lambda n, s: (1 + 0.05 * s) / n, 0.0001, "reproduced", "contradicted"),  # N^(-1): faster than minimax
    (lambda n, s: 0.5 + 0.01 * s, 0.001, "contradicted", "reproduced"),  # flat: no rate at all
    (lambda n, s: (1 + 0.05 * s) / np.sqrt(n), 0.2, "untestable", "untestable"),  # the floor dominates at N = 1000
])
def test_dcfp_rate_claims_on_tables_with_known_answers(error, floor, not_slower, not_faster):
    study = studies.get("dcfp")
    table = study.aggregate(_dcfp_runs(error, floor), {})
    verdict = {c.id: evaluate_claim(c, table)[0]["verdict"] for c in study.claims[:2]}
    assert verdict == {"dcfp_rate_not_slower_than_root_n": not_slower, "dcfp_rate_not_faster_than_root_n": not_faster}


@pytest.mark.parametrize("name, mutate, expected", [
    ("qtd", lambda s: s["environments"].update(bad={"name": "maze"}), "maze"),
    ("qtd", lambda s: s["noise"].update(bad={"name": "gaussian", "sigma": 1}), "sigma"),
    ("qtd", lambda s: s.update(step_sizes=[]), "step_sizes"),
    ("dcfp", lambda s: s.update(methods=["dcfp", "montecarlo"]), "montecarlo"),
    ("dcfp", lambda s: s["environments"].update(noisy={"name": "chain", "noise": {"name": "gaussian"}}), "unbounded"),
    ("dcfp", lambda s: s["environments"].update(scaling={"name": "chain"}), "reserved"),
    ("dcfp", lambda s: s.update(atoms=[{"rule": "sqrt_samples", "scale": -1}]), "atoms"),
    ("dcfp", lambda s: s.update(atoms=[{"rule": "log_samples"}]), "atoms"),
])
def test_bad_tabular_config_names_the_key(name, mutate, expected):
    section = copy.deepcopy({"qtd": QTD, "dcfp": DCFP}[name])
    mutate(section)
    with pytest.raises(cfg.ConfigError, match=expected):
        cfg.check_config({"studies": {name: section}})


def _qtd_runs(mse: callable, grid: np.ndarray, seeds: int = 6) -> pd.DataFrame:
    """QTD-study run rows with per-seed MSE = mse(method, noise, α, seed) at one budget."""
    rows = [{"variant": "env", "environment": "env", "noise": noise, "noise_type": kind, "gamma": 0.9, "method": method,
             "updates": 100, "step_size": float(a), "seed": s, "metric": "mse", "value": mse(method, kind, a, s)}
            for noise, kind in (("det", "none"), ("t", "heavy_tailed")) for method in ("td", "qtd_m8")
            for a in grid for s in range(seeds)]
    return pd.DataFrame(rows)


def _bowl(centre: float, width: float = 1.0):
    """MSE(α) = 1 + (ln α − ln centre)²/width² (a minimum of 1 at α = centre), with a little seed noise."""
    return lambda a, s: 1.0 + (np.log(a) - np.log(centre)) ** 2 / width**2 + 0.05 * s


def test_grid_refinement_rows_and_qtd_claims_on_known_tables():
    study = studies.get("qtd")
    grid = np.geomspace(0.01, 10.0, 13)  # every other point: 7, ratio 10^0.5
    # TD best where deterministic, QTD best (10× lower MSE) with heavy tails; minima on odd grid points
    level = {("td", "none"): 1.0, ("qtd_m8", "none"): 2.0, ("td", "heavy_tailed"): 10.0, ("qtd_m8", "heavy_tailed"): 1.0}
    centre = grid[3]  # only on the full grid
    mse = lambda method, kind, a, s: level[(method, kind)] * _bowl(centre, width=3.0)(a, s)  # noqa: E731
    table = study.aggregate(_qtd_runs(mse, grid), {})
    best = table[table["metric"] == "mse_at_best_step_size"]
    half = table[table["metric"] == "mse_at_best_step_size_half_grid"]
    assert np.allclose(best["step_size"], centre) and set(np.round(half["step_size"], 6)) <= set(np.round(grid[::2], 6))
    change = table[table["metric"] == "best_mse_change_when_grid_doubled"]
    step = np.log(grid[1] / grid[0])  # the half grid's nearest point is one full-grid step away
    np.testing.assert_allclose(change["mean"], [level[k] * step**2 / 9 for k in
                                                zip(change["method"], change["noise_type"])], rtol=1e-9)
    verdicts = {r["claim_id"]: r["verdict"] for c in study.claims for r in evaluate_claim(c, table)}
    assert verdicts == {"qtd_beats_td_with_stochastic_rewards[env/t γ=0.9 qtd_m8]": "reproduced",
                        "td_beats_qtd_with_deterministic_rewards[env/det γ=0.9 qtd_m8]": "reproduced"}
    # a coarse curvature (width 0.3): halving the grid moves the best MSE far beyond its CI -> untestable
    sharp = lambda method, kind, a, s: level[(method, kind)] * _bowl(centre, width=0.3)(a, s)  # noqa: E731
    rows = [r for c in study.claims for r in evaluate_claim(c, study.aggregate(_qtd_runs(sharp, grid), {}))]
    assert {r["verdict"] for r in rows} == {"untestable"} and {r["failed_precondition"] for r in rows} == {"grid_fine_enough"}
    # the best step size on the grid's edge -> untestable
    edge = lambda method, kind, a, s: level[(method, kind)] * _bowl(grid[-1] * 10, width=30.0)(a, s)  # noqa: E731
    rows = [r for c in study.claims for r in evaluate_claim(c, study.aggregate(_qtd_runs(edge, grid), {}))]
    assert {r["failed_precondition"] for r in rows} == {"best_step_sizes_interior"}
