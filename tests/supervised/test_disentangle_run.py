"""The disentangle study: run config per stream × intervention, scores, aggregation."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.studies.base import RunSpec


def _config(default_config):
    config = copy.deepcopy(default_config)
    section = config["studies"]["disentangle"]
    section["protocol"].update({"tasks": 3, "steps_per_task": 30})
    section["model"]["hidden"] = [32]
    section["streams"].setdefault("growing_targets", {"outputs": 10, "scale_start": 1.0, "growth": 2.0})
    return config


def test_variants_are_stream_times_intervention(default_config):
    config = _config(default_config)
    variants = cfg.variants(config, "disentangle")
    section = config["studies"]["disentangle"]
    assert len(variants) == len(section["streams"]) * len(section["variants"])
    run = cfg.run_config(config, "disentangle", "growing_targets.layernorm+weight_decay")
    assert run["stream"] == "growing_targets" and run["stream_options"] == section["streams"]["growing_targets"]
    assert run["interventions"] == section["variants"]["layernorm+weight_decay"]


def test_unknown_stream_is_named(default_config):
    config = _config(default_config)
    config["studies"]["disentangle"]["streams"]["rotating"] = {}
    with pytest.raises(cfg.ConfigError, match="rotating"):
        cfg.check_config(config)


def test_runs_score_each_task_and_aggregate_into_a_tidy_table(tmp_path, default_config):
    config = _config(default_config)
    study = studies.get("disentangle")
    frames = []
    for variant in ("random_labels.none", "growing_targets.layernorm"):
        for seed in (0, 1):
            run = RunSpec("disentangle", variant, seed, cfg.run_config(config, "disentangle", variant), tmp_path / f"{variant}{seed}")
            frames.append(study.train(run))
    metrics = pd.concat(frames, ignore_index=True)
    ends = metrics[metrics.phase == "task_end"]
    assert set(ends[ends.variant == "growing_targets.layernorm"].metric) >= {"train_r2", "test_r2"}
    assert set(ends[ends.variant == "random_labels.none"].metric) >= {"train_accuracy"}
    table = study.aggregate(metrics, config["studies"]["disentangle"])
    per_task = table[table.metric == "train_score"]
    assert sorted(set(per_task.x)) == [1, 2, 3] and (per_task.n_seeds == 2).all()
    summary = table[table.metric == "train_score_mean_over_tasks"].set_index("variant")
    manual = ends[ends.metric.isin(["train_accuracy", "train_r2"])].groupby("variant")["value"].mean()
    for variant in summary.index:
        assert summary.loc[variant, "mean"] == pytest.approx(manual[variant])
    assert set(table.stream) == {"random_labels", "growing_targets"}
    paths = study.plot(table, tmp_path / "fig", {"test": True})
    assert all(p.stat().st_size > 10_000 for p in paths)
