"""The shared agent loop: exact resume after SIGKILL, divergence recorded, metrics and provenance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from plasticlab.agents.loop import train_agent
from plasticlab.studies.base import RunSpec


def run_config(**changes) -> dict:
    config = {
        "agent": "der",
        "agent_options": {"stack": 2, "learning_starts": 60, "update_every": 2, "n_step": 3, "target_update_env_steps": 40,
                          "batch_size": 16},
        "model": {"name": "qnet", "torso": "minatar", "hidden": 16, "head": "dueling", "noisy": True, "atoms": 51,
                  "pixel_scale": 1.0},
        "protocol": {"steps": 400, "eval_every": 100, "eval_episodes": 1, "eval_max_steps": 50, "checkpoint_every": 60,
                     "log_every_updates": 10, "diagnostics_batch": 32},
        "env": {"suite": "minatar", "game": "breakout", "max_episode_steps": 40},
        "interventions": [{"name": "hare_tortoise", "ema": 0.9, "reset_every_steps": 15},
                          {"name": "reset", "layers": 2, "at_task_start": False, "every_steps": 25}],
        "variant": "minatar_breakout.mixed",
    }
    config.update(changes)
    return config


def _train(config: dict, out: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    command = [sys.executable, "-m", "plasticlab.cli", "train", "hare_tortoise", "--variant", config["variant"],
               "--seed", "3", "--run-config", json.dumps(config), "--out", str(out)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_killed_agent_run_resumes_to_identical_metrics(tmp_path):
    """Noisy nets, prioritised replay, Hare & Tortoise and resets all draw randomness or keep
    state: a resumed run must restore every bit of it."""
    config = run_config()
    whole = _train(config, tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    killed = _train(config, tmp_path / "killed", {"PLASTICLAB_CRASH_AFTER_CHECKPOINTS": "3"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "killed" / "metrics.parquet").exists()
    resumed = _train(config, tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step" in resumed.stderr
    expected = pd.read_parquet(tmp_path / "whole" / "metrics.parquet")
    actual = pd.read_parquet(tmp_path / "killed" / "metrics.parquet")
    assert (expected["phase"] == "eval").sum() == 5 and (expected["metric"] == "loss").any()
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    record = json.loads((tmp_path / "whole" / "run.json").read_text())
    assert record["seed"] == 3 and record["config"]["agent"] == "der"


def test_a_diverging_run_is_recorded_and_ends_cleanly(tmp_path):
    config = run_config(agent="dqn", interventions="none", variant="minatar_breakout.none",
                        agent_options={"stack": 1, "learning_starts": 20, "update_every": 1, "lr": 1e30,
                                       "batch_size": 8},
                        model={"name": "qnet", "torso": "minatar", "hidden": 8, "pixel_scale": 1.0})
    frame = train_agent(RunSpec("injection", config["variant"], 0, config, tmp_path))
    summary = frame[frame["phase"] == "summary"].set_index("metric")["value"]
    assert summary["diverged"] == 1.0
    assert frame["step"].max() < config["protocol"]["steps"]


def test_mismatched_atoms_are_a_clear_error(tmp_path):
    config = run_config(model={"name": "qnet", "torso": "minatar", "hidden": 8, "head": "dueling", "atoms": 11,
                               "pixel_scale": 1.0})
    with pytest.raises(ValueError, match="atoms"):
        train_agent(RunSpec("hare_tortoise", config["variant"], 0, config, tmp_path))


def test_atari_run_through_the_whole_protocol(tmp_path):
    """A few dozen steps of DQN on ALE Breakout: frame stacks of 4, updates, evaluation with no-op
    starts, diagnostics; raw game scores are recorded (not the clipped training rewards)."""
    pytest.importorskip("ale_py")
    config = run_config(
        agent="dqn", interventions="none", variant="atari_breakout.none",
        agent_options={"stack": 4, "learning_starts": 30, "update_every": 4, "batch_size": 4, "target_update_env_steps": 20},
        model={"name": "qnet", "torso": "nature", "hidden": 32},
        protocol={"steps": 60, "eval_every": 30, "eval_episodes": 1, "eval_max_steps": 20, "checkpoint_every": 1000,
                  "log_every_updates": 2, "diagnostics_batch": 8},
        env={"suite": "ale", "game": "Breakout"},
    )
    frame = train_agent(RunSpec("injection", config["variant"], 0, config, tmp_path))
    summary = frame[frame["phase"] == "summary"].set_index("metric")["value"]
    assert summary["updates"] == 8 and summary["diverged"] == 0.0   # steps 32, 36, ..., 60
    assert sorted(frame.loc[frame["metric"] == "eval_return", "step"]) == [0, 30, 60]
    assert {"dormant_fraction", "feature_srank"} <= set(frame["metric"])
