"""The discobax study end to end on a tiny config (train → aggregate → plot), and config errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import pandas as pd

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.analysis import read_png_provenance
from plasticlab.analysis.claims import evaluate_claim
from plasticlab.studies.base import RunSpec
from plasticlab.studies.discobax import best_baseline_gaps

SECTION = {"seeds": 3, "seeds_per_job": 2, "posterior_samples": 8, "effect_draws": 32,
           "protocols": {"small": {"cycles": 3, "batch_size": 4}, "one": {"cycles": 5, "batch_size": 1}},
           "subset_select": {"size": 3, "noise": "multiplicative", "scale": 1.5, "draws": 8,
                             "correlation": {"kernel": "rbf", "lengthscale": 1.0}},
           "clusters": {"components": 5, "pca_components": 2},
           "models": {"synthetic": {"name": "gp", "lengthscale": 0.3, "signal_variance": 2.25, "noise_variance": 0.01,
                                    "fit": False, "normalise": False},
                      "real": {"name": "mc_dropout", "epochs": 20}},
           "methods": {"discobax": "discobax", "topk_bax": "topk_bax", "ucb": {"name": "ucb", "beta": 1.0}, "random": "random",
                       "discobax_top": {"name": "discobax", "batch": "top"}},
           "datasets": {"sine1d": {"name": "sine1d", "size": 64, "protocol": "one"},
                        "bumps1d": {"name": "bumps1d", "size": 80, "noise": 0.1, "protocol": "small"},
                        "diabetes": {"name": "diabetes", "top_fraction": 0.05, "protocol": "small",
                                     "model": {"name": "gp", "max_iterations": 10}}}}


def test_discobax_study_end_to_end(tmp_path):
    config = {"studies": {"discobax": SECTION}}
    cfg.check_config(config)
    study = studies.get("discobax")
    assert cfg.seeds(config, "discobax") == [0, 1]  # 3 seeds in batches of 2
    frames = {(v, job): study.train(RunSpec("discobax", v, job, cfg.run_config(config, "discobax", v), tmp_path / v))
              for v in cfg.variants(config, "discobax") for job in cfg.seeds(config, "discobax")}
    metrics = np.concatenate([f["seed"].unique() for (v, _), f in frames.items() if v == "sine1d"])
    assert sorted(metrics) == [0, 1, 2]
    runs = pd.concat(frames.values(), ignore_index=True)
    assert set(runs.loc[runs["variant"] == "diabetes", "metric"]) == {"top_k_recall", "diversity", "overall"}
    assert "expected_max_effect" in set(runs.loc[runs["variant"] == "sine1d", "metric"])
    assert runs.groupby("variant")["cycle"].max().to_dict() == {"sine1d": 5, "bumps1d": 3, "diabetes": 3}  # protocols
    assert set(runs.loc[runs["variant"] == "sine1d", "protocol"]) == {"one"}
    values = runs.pivot_table(index=["variant", "seed", "method", "cycle"], columns="metric", values="value")
    np.testing.assert_allclose(values["overall"], np.sqrt(values["top_k_recall"] * values["diversity"]))
    assert ((values["top_k_recall"] >= 0) & (values["top_k_recall"] <= 1)).all()
    assert (values.groupby(["variant", "seed", "method"])["top_k_recall"].diff().dropna() >= 0).all()  # cumulative
    first = values.xs(1, level="cycle")["top_k_recall"].unstack("method")
    assert (first.nunique(axis=1) == 1).all()  # the first (random) batch is shared by the methods of a seed

    table = study.aggregate(runs, SECTION)
    recall = table[(table["metric"] == "top_k_recall") & (table["x"] == 3) & (table["variant"] != "sine1d")]
    assert len(recall) == 10 and (recall["n_seeds"] == 3).all() and (recall["ci_low"] <= recall["mean"]).all()
    gap = table[table["metric"] == "overall_discobax_minus_baseline"]
    assert set(gap["method"]) == {"topk_bax", "ucb", "random", "discobax_top"}
    best = table[table["metric"] == "overall_discobax_minus_best_baseline"]
    assert len(best) == 3 and set(best["method"]) <= {"topk_bax", "ucb", "random"}  # never a DiscoBAX variant
    rows = evaluate_claim(study.claims[0], table)
    assert {r["claim_id"] for r in rows} == {"discobax_beats_best_baseline[sine1d]", "discobax_beats_best_baseline[bumps1d]",
                                             "discobax_beats_best_baseline[diabetes]"}
    written = study.plot(table, tmp_path / "figures", {"inputs": ["table.csv"]})
    assert [p.name for p in written] == list(study.figures)
    assert all(p.stat().st_size > 10_000 and read_png_provenance(p) == {"inputs": ["table.csv"]} for p in written)


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: s["methods"].update(bad="expected_improvement"), "methods.bad.*expected_improvement"),
    (lambda s: s["methods"].update(bad={"name": "ucb", "kappa": 1}), "kappa"),
    (lambda s: s["datasets"].update(bad={"name": "sine3d", "protocol": "small"}), "sine3d"),
    (lambda s: s["datasets"].update(bad={"name": "bumps1d", "size": 11, "protocol": "small"}), "exceed"),
    (lambda s: s["datasets"].update(bad={"name": "sine1d", "protocol": "huge"}), "huge"),
    (lambda s: s["datasets"].update(bad={"name": "sine1d"}), "protocol"),
    (lambda s: s["datasets"].update(bad={"name": "diabetes", "protocol": "small", "model": {"name": "gp", "kernal": "rbf"}}),
     "kernal"),
    (lambda s: s["subset_select"].update(correlation={"kernel": "rbf", "lengthscale": 0}), "lengthscale"),
    (lambda s: s["subset_select"].update(correlation="gp"), "correlation"),
    (lambda s: s["protocols"]["small"].update(cycles=0), "cycles"),
    (lambda s: s["protocols"]["small"].update(batch_rule="diverse"), "batch_rule"),
])
def test_bad_discobax_config_names_the_key(mutate, expected):
    section = copy.deepcopy(SECTION)
    mutate(section)
    with pytest.raises(cfg.ConfigError, match=expected):
        cfg.check_config({"studies": {"discobax": section}})


def _runs(overall: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    """Last-cycle overall scores per (variant, method) and seed, in the study's run format."""
    rows = [{"variant": v, "protocol": "p", "dataset": v, "method": m, "metric": "overall", "cycle": 4, "seed": s,
             "value": value} for (v, m), values in overall.items() for s, value in enumerate(values)]
    return pd.DataFrame(rows)


def test_discobax_claim_verdicts_on_tables_with_known_answers():
    study = studies.get("discobax")
    config = {"methods": {"discobax": "discobax", "thompson": "thompson", "ucb": "ucb", "random": "random"}}
    runs = _runs({("a", "discobax"): [0.9, 0.8, 0.85, 0.95], ("a", "thompson"): [0.6, 0.5, 0.55, 0.6],
                  ("a", "ucb"): [0.4, 0.5, 0.45, 0.5], ("a", "random"): [0.1, 0.2, 0.1, 0.15],
                  ("b", "discobax"): [0.3, 0.2, 0.25, 0.3], ("b", "thompson"): [0.6, 0.7, 0.65, 0.7],
                  ("b", "ucb"): [0.5, 0.5, 0.5, 0.5], ("b", "random"): [0.1, 0.1, 0.2, 0.1]})
    gaps = best_baseline_gaps(runs).set_index(["variant", "metric"])
    assert gaps.loc[("a", "overall_discobax_minus_best_baseline"), "method"].unique().tolist() == ["thompson"]
    np.testing.assert_allclose(gaps.loc[("a", "overall_discobax_minus_best_baseline"), "value"], [0.3, 0.3, 0.3, 0.35])
    verdicts = {r["claim_id"]: r["verdict"] for r in evaluate_claim(study.claims[0], study.aggregate(runs, config))}
    assert verdicts == {"discobax_beats_best_baseline[a]": "reproduced", "discobax_beats_best_baseline[b]": "contradicted"}
    # if no model-guided method beats random somewhere, the comparison says nothing: untestable
    flat = runs.copy()
    flat.loc[(flat["variant"] == "b") & (flat["method"] == "random"), "value"] = 0.8
    rows = evaluate_claim(study.claims[0], study.aggregate(flat, config))
    assert {r["verdict"] for r in rows} == {"untestable"} and rows[0]["failed_precondition"] == "guided_search_beats_random"
