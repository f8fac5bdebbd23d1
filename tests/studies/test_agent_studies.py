"""Aggregation of the agent studies on synthetic runs with known scores (no training)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import trim_mean

from plasticlab import studies
from plasticlab.analysis.reference_scores import MINATAR_RANDOM_SCORES
from plasticlab.config import ConfigError, check_config, load_config

STUDY_CONFIG = {
    "seeds": 3, "agent": "dqn", "model": {"name": "qnet"}, "protocol": {"steps": 200, "eval_every": 100},
    "envs": {"mb": {"env": {"suite": "minatar", "game": "breakout"}, "reference_score": 10.0},
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


RANDOM_MB = MINATAR_RANDOM_SCORES["breakout"]


def minatar_scale(raw: float) -> float:
    """MinAtar: measured random-policy return -> 0, the entry's reference score (10) -> 1."""
    return (raw - RANDOM_MB) / (10.0 - RANDOM_MB)


def test_scores_are_normalised_per_game_and_aggregated_like_rliable():
    table = studies.get("injection").aggregate(synthetic_metrics(), STUDY_CONFIG)
    per_game = table[table["kind"] == "per_game"].set_index(["intervention", "task"])["estimate"]
    # MinAtar: random play -> 0, reference -> 1; Atari: human-normalised (1.7 -> 0, 30.5 -> 1)
    assert per_game[("none", "mb")] == pytest.approx(minatar_scale(4.0))
    assert per_game[("injection", "mb")] == pytest.approx(minatar_scale(8.0))
    assert per_game[("none", "ab")] == pytest.approx(0.5)
    assert per_game[("injection", "ab")] == pytest.approx(4 / 3)
    iqm = table[(table["kind"] == "aggregate") & (table["statistic"] == "iqm")].set_index("intervention")
    # injection: (seeds, games) normalised finals
    pooled = np.array([[minatar_scale(6.0), 1.0], [minatar_scale(8.0), 2.0], [minatar_scale(10.0), 1.0]])
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
    assert per_game[("injection", "mb")] == pytest.approx(minatar_scale((6 + 4 + 10) / 3))  # seed 1 ends at 8 / 2


def test_the_baseline_has_an_interval_on_a_fixed_reference_scale():
    table = studies.get("injection").aggregate(synthetic_metrics(), {**STUDY_CONFIG, "envs": {"mb": STUDY_CONFIG["envs"]["mb"]}})
    row = table[(table["kind"] == "aggregate") & (table["statistic"] == "iqm")].set_index("intervention").loc["none"]
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    assert minatar_scale(2.0) <= row["ci_low"] and row["ci_high"] <= minatar_scale(6.0)  # within the seeds' range


def plot_titles(table: pd.DataFrame, tmp_path, monkeypatch) -> list[str]:
    """The titles every figure of an agent study is drawn with."""
    from plasticlab.analysis import rl_plots
    from plasticlab.studies import agent_runs

    titles: list[str] = []
    for name in ("interval_estimates_plot", "sample_efficiency_plot", "per_task_bars", "improvement_plot",
                 "performance_profile_plot"):
        original = getattr(rl_plots, name)
        monkeypatch.setattr(rl_plots, name, lambda *a, _f=original, **k: titles.append(k.get("title")) or _f(*a, **k))
    import plasticlab.analysis as analysis
    original_panels = analysis.line_panels
    monkeypatch.setattr(analysis, "line_panels", lambda *a, **k: titles.append(k.get("title")) or original_panels(*a, **k))
    studies.get("injection").plot(table, tmp_path, {"study": "injection"})
    assert agent_runs.SMOKE_TITLE.startswith("SMOKE TEST")
    return titles


def test_figures_say_smoke_test_when_the_plain_agent_is_not_above_random(tmp_path, monkeypatch):
    metrics = synthetic_metrics()
    # plain agent at random level: raw returns of the random policy on MinAtar, 1.7 (random) on Atari
    plain = metrics["intervention"] == "none"
    metrics.loc[plain & (metrics["env"] == "mb"), "value"] = RANDOM_MB + 0.01 * metrics["seed"] - 0.01
    metrics.loc[plain & (metrics["env"] == "ab"), "value"] = 1.7 + 0.01 * metrics["seed"] - 0.01
    table = studies.get("injection").aggregate(metrics, STUDY_CONFIG)
    titles = plot_titles(table, tmp_path, monkeypatch)
    assert len(titles) == 6 and all(title.startswith("SMOKE TEST") for title in titles)
    learned = plot_titles(studies.get("injection").aggregate(synthetic_metrics(), STUDY_CONFIG), tmp_path, monkeypatch)
    assert not any(title and title.startswith("SMOKE TEST") for title in learned[6:])


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
