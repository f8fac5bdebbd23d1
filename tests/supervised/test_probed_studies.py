"""understanding and capacity: snapshots, the probe step, plasticity loss and rank correlations."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.studies.base import RunSpec
from plasticlab.studies.understanding import EXPLANATIONS, plasticity_loss, rank_correlations


def _tiny(default_config, study):
    config = copy.deepcopy(default_config)
    section = config["studies"][study]
    section["protocol"].update({"tasks": 2, "steps_per_task": 20})
    section["probe"].update({"steps": 10, "inputs": 32, "lanczos_k": 4})
    section["model"]["hidden"] = [16]
    return config


@pytest.mark.parametrize("study_name, variants", [("understanding", ("none", "layernorm")), ("capacity", ("none", "infer"))])
def test_train_then_probe_every_snapshot_then_aggregate_and_plot(tmp_path, default_config, study_name, variants):
    config = _tiny(default_config, study_name)
    study = studies.get(study_name)
    frames = []
    for variant in variants:
        for seed in (0, 1):
            run = RunSpec(study_name, variant, seed, cfg.run_config(config, study_name, variant), tmp_path / f"{variant}{seed}")
            study.train(run)
            assert sorted(p.name for p in (run.out_dir / "snapshots").iterdir()) == [f"ckpt_00000000{i}.pt" for i in range(3)]
            probes = study.probe(run)
            assert sorted(set(probes.tasks_done)) == [0, 1, 2]
            expected = ({"plasticity", "hessian_top_eigenvalue", "srank", "dormant_fraction"} if study_name == "understanding"
                        else {"capacity_probe_loss", "capacity_fresh_loss", "capacity_target_variance", "srank"})
            assert expected <= set(probes.metric)
            again = study.probe(run)  # a pure function of the snapshots
            pd.testing.assert_frame_equal(probes, again)
            frames.append(probes)
    table = study.aggregate(pd.concat(frames, ignore_index=True), config["studies"][study_name])
    assert {"variant", "x", "metric", "mean", "ci_low", "ci_high", "n_seeds"} <= set(table.columns)
    assert set(variants) <= set(table.variant)
    paths = study.plot(table, tmp_path / "figures", {"test": True})
    assert [p.name for p in paths] == list(study.figures) and all(p.stat().st_size > 10_000 for p in paths)


def _synthetic_probes(runs: int = 6, tasks: int = 4, seed: int = 0) -> pd.DataFrame:
    """Plasticity falls with tasks; one metric rises with the loss, one falls, one is noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(runs):
        start = 1.0 + rng.random()
        for t in range(tasks + 1):
            plasticity = start - 0.2 * t * (1 + rng.random())
            rows.append(("none", run, t, "plasticity", plasticity))
            loss = start - plasticity
            rows.append(("none", run, t, "hessian_top_eigenvalue", np.exp(loss)))
            rows.append(("none", run, t, "srank", -loss))
            rows.append(("none", run, t, "gradient_norm", rng.random()))
    return pd.DataFrame(rows, columns=["variant", "seed", "tasks_done", "metric", "value"])


def test_plasticity_loss_is_initial_minus_current_plasticity():
    probes = _synthetic_probes()
    losses = plasticity_loss(probes)
    plasticity = probes[probes.metric == "plasticity"].set_index(["seed", "tasks_done"])["value"]
    for _, row in losses.iterrows():
        assert row["value"] == pytest.approx(plasticity[(row["seed"], 0)] - plasticity[(row["seed"], row["tasks_done"])])
    assert (losses["tasks_done"] > 0).all()


def test_rank_correlations_recover_monotone_relations():
    correlations = rank_correlations(_synthetic_probes(), n_boot=200)
    assert set(correlations.variant) == {"all", "none"}
    table = correlations[correlations.variant == "all"].set_index("metric")
    assert table.loc["spearman_vs_hessian_top_eigenvalue", "mean"] == pytest.approx(1.0)
    assert table.loc["spearman_vs_hessian_top_eigenvalue", "ci_low"] == pytest.approx(1.0)
    assert table.loc["spearman_vs_srank", "mean"] == pytest.approx(-1.0)
    noise = table.loc["spearman_vs_gradient_norm"]
    assert abs(noise["mean"]) < 0.6 and noise["ci_low"] < 0 < noise["ci_high"]
    assert set(table.index) <= {f"spearman_vs_{m}" for m in EXPLANATIONS}
