"""Aggregation of the agent studies on synthetic runs with known scores (no training)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import trim_mean

from plasticlab import studies
from plasticlab.config import ConfigError, check_config, load_config

STUDY_CONFIG = {
    "seeds": 3, "agent": "dqn", "model": {"name": "qnet"}, "protocol": {"steps": 200, "eval_every": 100},
    "envs": {"mb": {"env": {"suite": "minatar", "game": "breakout"}},
             "ab": {"env": {"suite": "ale", "game": "Breakout"}}},
    "variants": {"none": "none", "injection": "plasticity_injection"},
    "plot": {"bootstrap_samples": 200},
}
# final raw returns per (env, intervention): seeds 0..2
FINAL = {("mb", "none"): [2.0, 4.0, 6.0], ("mb", "injection"): [6.0, 8.0, 10.0],
         ("ab", "none"): [1.7, 30.5, 16.1], ("ab", "injection"): [30.5, 59.3, 30.5]}


def synthetic_metrics(diverged_seed: int | None = None) -> pd.DataFrame:
    rows = []
    for (env, intervention), finals in FINAL.items():
        for seed, final in enumerate(finals):
            stops = diverged_seed == seed and intervention == "injection" and env == "mb"
            for step, value in ((0, 0.0), (100, final / 2), (200, final)):
                if stops and step == 200:
                    continue
                rows.append({"variant": f"{env}.{intervention}", "seed": seed, "step": step, "phase": "eval",
                             "metric": "eval_return", "value": value, "env": env, "intervention": intervention})
                rows.append({"variant": f"{env}.{intervention}", "seed": seed, "step": step, "phase": "diagnostics",
                             "metric": "dormant_fraction", "value": 0.1 * seed, "env": env,
                             "intervention": intervention})
            rows.append({"variant": f"{env}.{intervention}", "seed": seed, "step": 200, "phase": "summary",
                         "metric": "diverged", "value": float(stops), "env": env, "intervention": intervention})
    return pd.DataFrame(rows).assign(study="injection")


def test_scores_are_normalised_per_game_and_aggregated_like_rliable():
    table = studies.get("injection").aggregate(synthetic_metrics(), STUDY_CONFIG)
    per_game = table[table["kind"] == "per_game"].set_index(["intervention", "task"])["estimate"]
    # MinAtar: relative to the baseline's mean final return (4.0); Atari: human-normalised (1.7 -> 0, 30.5 -> 1)
    assert per_game[("none", "mb")] == pytest.approx(1.0)
    assert per_game[("injection", "mb")] == pytest.approx(2.0)
    assert per_game[("none", "ab")] == pytest.approx(0.5)
    assert per_game[("injection", "ab")] == pytest.approx(4 / 3)
    iqm = table[(table["kind"] == "aggregate") & (table["statistic"] == "iqm")].set_index("intervention")
    pooled = np.array([[1.5, 1.0], [2.0, 2.0], [2.5, 1.0]])  # injection: (seeds, games) normalised finals
    assert iqm.loc["injection", "estimate"] == pytest.approx(trim_mean(pooled.ravel(), 0.25))
    improvement = table[table["kind"] == "improvement"].set_index("intervention")
    # injection beats the baseline on every run pair of MinAtar and on 7 of 9 pairs (+ ties) on Atari
    assert improvement.loc["injection", "estimate"] == pytest.approx((1.0 + (7 + 0.5 * 1) / 9) / 2)
    curve = table[(table["kind"] == "curve") & (table["intervention"] == "none")].sort_values("step")
    assert list(curve["step"]) == [0, 100, 200]


def test_a_diverged_run_keeps_its_last_score_and_is_counted():
    table = studies.get("injection").aggregate(synthetic_metrics(diverged_seed=1), STUDY_CONFIG)
    diverged = table[table["kind"] == "diverged"].set_index(["env", "intervention"])["diverged_runs"]
    assert diverged[("mb", "injection")] == 1 and diverged[("mb", "none")] == 0
    per_game = table[table["kind"] == "per_game"].set_index(["intervention", "task"])["estimate"]
    assert per_game[("injection", "mb")] == pytest.approx((6 + 4 + 10) / 3 / 4)  # seed 1 ends at 8 / 2 = 4


def test_plot_writes_every_figure(tmp_path):
    study = studies.get("injection")
    table = study.aggregate(synthetic_metrics(), STUDY_CONFIG)
    paths = study.plot(table, tmp_path, {"study": "injection"})
    assert sorted(p.name for p in paths) == sorted(study.figures)
    assert all(p.stat().st_size > 5000 for p in paths)


def test_agent_study_config_errors_name_the_place(tmp_path):
    config = load_config("config/config.yaml")
    config["studies"]["hare_tortoise"]["envs"]["minatar_breakout"]["env"]["game"] = "pacman"
    with pytest.raises(ConfigError, match=r"hare_tortoise.*minatar_breakout.*pacman"):
        check_config(config)
    config = load_config("config/config.yaml")
    config["studies"]["injection"]["agent_options"]["learning_rate"] = 1.0
    with pytest.raises(ConfigError, match="learning_rate"):
        check_config(config)
    config = load_config("config/config.yaml")
    del config["studies"]["hare_tortoise"]["variants"]["none"]
    with pytest.raises(ConfigError, match="'none'"):
        check_config(config)


def test_run_config_merges_environment_overrides():
    config = load_config("config/config.yaml")["studies"]["injection"]
    atari = studies.get("injection").run_config(config, "atari_breakout.injection")
    assert atari["model"]["torso"] == "nature" and atari["model"]["name"] == "qnet"
    assert atari["agent_options"]["stack"] == 4 and atari["agent_options"]["lr"] == config["agent_options"]["lr"]
    assert atari["env"] == {"suite": "ale", "game": "Breakout"}
    # the Atari entry overrides the injection step (it runs fewer updates); the other env does not
    assert atari["interventions"] == [{"name": "plasticity_injection", "at_step": 25, "head_layers": 2}]
    minatar = studies.get("injection").run_config(config, "minatar_breakout.injection")
    assert minatar["interventions"] == config["variants"]["injection"]
    assert minatar["model"]["torso"] == "minatar"
