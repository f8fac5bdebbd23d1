"""A run killed (SIGKILL) after a checkpoint and restarted ends with identical metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pandas as pd

from plasticlab import config as cfg


def _train(run_config: dict, out, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    command = [sys.executable, "-m", "plasticlab.cli", "train", "warmstart", "--variant", "mixed", "--seed", "1",
               "--run-config", json.dumps(run_config), "--out", str(out)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_killed_run_resumes_to_identical_metrics(tmp_path, tiny_config):
    section = tiny_config["studies"]["warmstart"]
    # Interventions with state and randomness of their own, so resume has to restore all of it.
    section["variants"]["mixed"] = [
        {"name": "hare_tortoise", "ema": 0.9, "reset_every_steps": 7},
        {"name": "shrink_perturb", "shrink": 0.5, "perturb": 0.1},
    ]
    section["protocols"]["tiny"].update({"max_epochs": 8, "checkpoint_every_epochs": 1, "target_train_accuracy": 0.999})
    run_config = cfg.run_config(tiny_config, "warmstart", "mixed")

    whole = _train(run_config, tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr

    killed = _train(run_config, tmp_path / "killed", {"PLASTICLAB_CRASH_AFTER_CHECKPOINTS": "3"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "killed" / "metrics.parquet").exists()
    assert list((tmp_path / "killed" / "checkpoints").glob("ckpt_*.pt"))

    resumed = _train(run_config, tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from checkpoint" in resumed.stderr

    expected = pd.read_parquet(tmp_path / "whole" / "metrics.parquet")
    actual = pd.read_parquet(tmp_path / "killed" / "metrics.parquet")
    assert len(expected) > 20
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
