"""The discobax study end to end on a tiny config (train → aggregate → plot), and config errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.analysis import read_png_provenance
from plasticlab.studies.base import RunSpec

SECTION = {"seeds": 3, "seeds_per_job": 2, "cycles": 3, "batch_size": 4, "posterior_samples": 8, "effect_draws": 32,
           "subset_select": {"size": 3, "noise": "additive", "scale": 0.5, "draws": 8},
           "clusters": {"components": 5, "pca_components": 2},
           "models": {"synthetic": {"name": "gp", "max_iterations": 10}, "real": {"name": "mc_dropout", "epochs": 20}},
           "methods": {"discobax": "discobax", "topk_bax": "topk_bax", "ucb": {"name": "ucb", "beta": 1.0}, "random": "random"},
           "datasets": {"sine1d": {"name": "sine1d", "size": 80, "noise": 0.1},
                        "diabetes": {"name": "diabetes", "top_fraction": 0.05}}}


def test_discobax_study_end_to_end(tmp_path):
    config = {"studies": {"discobax": SECTION}}
    cfg.check_config(config)
    study = studies.get("discobax")
    assert cfg.seeds(config, "discobax") == [0, 1]  # 3 seeds in batches of 2
    frames = {(v, job): study.train(RunSpec("discobax", v, job, cfg.run_config(config, "discobax", v), tmp_path / v))
              for v in cfg.variants(config, "discobax") for job in cfg.seeds(config, "discobax")}
    metrics = np.concatenate([f["seed"].unique() for (v, _), f in frames.items() if v == "sine1d"])
    assert sorted(metrics) == [0, 1, 2]
    import pandas as pd

    runs = pd.concat(frames.values(), ignore_index=True)
    assert set(runs.loc[runs["variant"] == "diabetes", "metric"]) == {"top_k_recall", "diversity", "overall"}
    assert "expected_max_effect" in set(runs.loc[runs["variant"] == "sine1d", "metric"])
    values = runs.pivot_table(index=["variant", "seed", "method", "cycle"], columns="metric", values="value")
    np.testing.assert_allclose(values["overall"], np.sqrt(values["top_k_recall"] * values["diversity"]))
    assert ((values["top_k_recall"] >= 0) & (values["top_k_recall"] <= 1)).all()
    assert (values.groupby(["variant", "seed", "method"])["top_k_recall"].diff().dropna() >= 0).all()  # cumulative
    first = values.xs(1, level="cycle")["top_k_recall"].unstack("method")
    assert (first.nunique(axis=1) == 1).all()  # the first (random) batch is shared by the methods of a seed

    table = study.aggregate(runs, SECTION)
    recall = table[(table["metric"] == "top_k_recall") & (table["x"] == 3)]
    assert len(recall) == 8 and (recall["n_seeds"] == 3).all() and (recall["ci_low"] <= recall["mean"]).all()
    gap = table[table["metric"] == "overall_discobax_minus_baseline"]
    assert set(gap["method"]) == {"topk_bax", "ucb", "random"}
    written = study.plot(table, tmp_path / "figures", {"inputs": ["table.csv"]})
    assert [p.name for p in written] == list(study.figures)
    assert all(p.stat().st_size > 10_000 and read_png_provenance(p) == {"inputs": ["table.csv"]} for p in written)


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: s["methods"].update(bad="expected_improvement"), "methods.bad.*expected_improvement"),
    (lambda s: s["methods"].update(bad={"name": "ucb", "kappa": 1}), "kappa"),
    (lambda s: s["datasets"].update(bad={"name": "sine3d"}), "sine3d"),
    (lambda s: s["datasets"].update(bad={"name": "sine1d", "size": 11}), "exceed"),
    (lambda s: s["datasets"].update(bad={"name": "diabetes", "model": {"name": "gp", "kernal": "rbf"}}), "kernal"),
    (lambda s: s["subset_select"].update(noise="multiplicative", scale=2.0), "probability"),
    (lambda s: s.update(cycles=0), "cycles"),
])
def test_bad_discobax_config_names_the_key(mutate, expected):
    section = copy.deepcopy(SECTION)
    mutate(section)
    with pytest.raises(cfg.ConfigError, match=expected):
        cfg.check_config({"studies": {"discobax": section}})
