"""The vlm_rewards study end to end on a tiny config (train → aggregate → plot), and config errors."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.analysis import read_png_provenance
from plasticlab.studies.base import RunSpec

SECTION = {
    "seeds": 2, "seeds_per_job": 1,
    "scene": {"grid": 3, "cell_px": 4, "objects": 2},
    "training": {"steps": 20, "batch_size": 16, "lr": 3e-3, "warmup_steps": 5, "log_every": 10, "checkpoint_every": 10,
                 "eval_examples": 32},
    "reward": {"threshold": 0.5, "negatives": ["the agent is next to nothing"], "sweep": [0.3, 0.7]},
    "evaluation": {"layouts": 3},
    "agent": {"layouts": 2, "episodes": 40, "horizon": 8, "eval_every": 20},
    "models": {"tiny": {"width": 8, "layers": 1, "embed_dim": 8}},
}


def test_vlm_rewards_study_end_to_end(tmp_path):
    config = {"studies": {"vlm_rewards": SECTION}}
    cfg.check_config(config)
    study = studies.get("vlm_rewards")
    assert cfg.variants(config, "vlm_rewards") == ["tiny", "oracle"] and cfg.seeds(config, "vlm_rewards") == [0, 1]
    assert "training" not in cfg.run_config(config, "vlm_rewards", "oracle")  # the oracle does not depend on it
    frames = [study.train(RunSpec("vlm_rewards", v, job, cfg.run_config(config, "vlm_rewards", v), tmp_path / v / f"seed={job}"))
              for v in cfg.variants(config, "vlm_rewards") for job in cfg.seeds(config, "vlm_rewards")]
    metrics = pd.concat(frames, ignore_index=True)
    assert (tmp_path / "tiny" / "seed=1" / "models" / "seed=1" / "clip.pt").is_file()
    tiny = metrics[metrics["variant"] == "tiny"]
    assert {"contrastive_loss", "caption_accuracy", "reward_precision", "reward_recall", "reward_roc_auc",
            "precision_at_threshold", "ground_truth_success"} <= set(tiny["metric"])
    assert set(metrics.loc[metrics["variant"] == "oracle", "metric"]) == {"ground_truth_success", "reward_model_success",
                                                                         "random_policy_success"}
    # the oracle's reward is the ground truth: ending an episode by it is succeeding
    oracle = metrics[metrics["variant"] == "oracle"].pivot_table(index=["seed", "x"], columns="metric", values="value")
    np.testing.assert_allclose(oracle["ground_truth_success"], oracle["reward_model_success"])
    assert oracle.loc[(slice(None), 40.0), "ground_truth_success"].min() > 0.6
    assert (tiny.loc[tiny["metric"] == "reward_precision", "x"] > 1000).all()  # x = parameter count
    table = study.aggregate(metrics, SECTION)
    gap = table[(table["metric"] == "success_minus_oracle") & (table["x"] == 40)]
    final = table[(table["metric"] == "ground_truth_success") & (table["x"] == 40)].set_index("variant")["mean"]
    assert gap["mean"].iloc[0] == pytest.approx(final["tiny"] - final["oracle"])
    assert (table["n_seeds"] == 2).all()
    # the random policy's success (recorded by the oracle job) is a floor below the oracle agent's
    floor = table[(table["metric"] == "success_minus_random_policy") & (table["variant"] == "oracle")]
    assert floor["mean"].iloc[0] > 0 and floor["x"].iloc[0] == 40
    written = study.plot(table, tmp_path / "figures", {"inputs": ["table.csv"]})
    assert [p.name for p in written] == list(study.figures)
    assert all(p.stat().st_size > 10_000 and read_png_provenance(p) == {"inputs": ["table.csv"]} for p in written)


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: s["models"].update(oracle={"width": 8, "layers": 1, "embed_dim": 8}), "reserved"),
    (lambda s: s["models"].update(odd={"width": 96, "layers": 1, "embed_dim": 8, "heads": 5}), "divisible"),
    (lambda s: s["scene"].update(objects=9), "do not fit"),
    (lambda s: s["scene"].update(cell_px=2), "cell_px"),
    (lambda s: s["reward"].update(threshold=1.5), "threshold"),
    (lambda s: s["training"].update(checkpoint_every=15), "multiple of log_every"),
    (lambda s: s["models"].update(real={"checkpoint": "x.pt", "tokenizer": {"name": "sentencepiece", "path": "v"}}),
     "unknown tokenizer"),
    (lambda s: s["models"].update(half={"width": 8}), "models.half"),
])
def test_bad_vlm_rewards_config_names_the_problem(mutate, expected):
    section = copy.deepcopy(SECTION)
    mutate(section)
    with pytest.raises(cfg.ConfigError, match=expected):
        cfg.check_config({"studies": {"vlm_rewards": section}})
