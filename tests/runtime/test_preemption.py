"""SIGTERM / SIGUSR1 (SLURM preemption, time-limit warning) sent to a real `plasticlab train`
process: it writes a checkpoint at the next safe point, exits 75, and a rerun resumes to the
metrics of an uninterrupted run, row for row. Corrupt checkpoints are never trained from."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from plasticlab import cli

from plasticlab.runtime.checkpoint import list_checkpoints
from plasticlab.runtime.preemption import EXIT_PREEMPTED
from tests.agents.test_loop import run_config as agent_run_config

# Long enough (about 2 s of training after start-up) that a signal lands mid-run.
WARMSTART = {
    "dataset": "digits", "model": {"name": "mlp", "hidden": [32]}, "optimizer": {"lr": 0.005},
    "protocol": {"phases": [{"data": 0.3}, {"data": 0.3}, {"data": 0.4}], "batch_size": 32, "max_epochs": 12,
                 "target_train_accuracy": None, "checkpoint_every_epochs": 4},
    "variant": "warm", "interventions": "none", "data_dir": "data",
}
AGENT = agent_run_config(protocol={"steps": 600, "eval_every": 200, "eval_episodes": 1, "eval_max_steps": 50,
                                   "checkpoint_every": 100, "log_every_updates": 10, "diagnostics_batch": 32})
RUNS = {"warmstart": ("warmstart", "warm", WARMSTART), "agent": ("hare_tortoise", AGENT["variant"], AGENT)}


def _command(kind: str, out: Path) -> list[str]:
    study, variant, config = RUNS[kind]
    return [sys.executable, "-m", "plasticlab.cli", "--log", str(out / "train.log"), "train", study,
            "--variant", variant, "--seed", "1", "--run-config", json.dumps(config), "--out", str(out)]


def _train(kind: str, out: Path) -> int:
    """The same command in this process (no second start-up), signal handlers and threads restored."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGUSR1)}
    threads = torch.get_num_threads()
    try:
        return cli.main(_command(kind, out)[3:])
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        torch.set_num_threads(threads)


def _signal_mid_run(kind: str, out: Path, signum: int) -> subprocess.CompletedProcess:
    """Start training, wait for its first checkpoint (training is under way), then send ``signum``."""
    process = subprocess.Popen(_command(kind, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list_checkpoints(out / "checkpoints") and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, pd.DataFrame]:
    frames = {}
    for kind in RUNS:
        out = tmp_path_factory.mktemp(f"whole-{kind}")
        assert _train(kind, out) == 0
        frames[kind] = pd.read_parquet(out / "metrics.parquet")
    return frames


# Each signal once and each checkpointing loop once: a process start costs seconds on CI.
@pytest.mark.parametrize(("kind", "signum"), [("warmstart", signal.SIGTERM), ("agent", signal.SIGUSR1)],
                         ids=["supervised-SIGTERM", "agent-SIGUSR1"])
def test_signal_checkpoints_exits_75_and_retry_resumes_to_same_metrics(tmp_path, uninterrupted, kind, signum):
    out = tmp_path / "run"
    stopped = _signal_mid_run(kind, out, signum)
    assert stopped.returncode == EXIT_PREEMPTED, stopped.stderr[-3000:]
    log = (out / "train.log").read_text()
    assert f"{signal.Signals(signum).name} received: checkpoint written" in log
    assert not (out / "metrics.parquet").exists() and not (out / "run.json").exists()
    saved = list_checkpoints(out / "checkpoints")
    assert saved, "no checkpoint written on the signal"

    assert _train(kind, out) == 0
    assert "resuming" in (out / "train.log").read_text().split(log, 1)[1]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "metrics.parquet"), uninterrupted[kind], check_exact=True)
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


@pytest.mark.parametrize("damage", ["truncate", "bitflip"])
def test_corrupt_newest_checkpoint_falls_back_and_still_ends_identical(tmp_path, uninterrupted, damage):
    """A damaged newest checkpoint is detected by its checksum, set aside with a warning, and the
    run resumes from the previous one: same final metrics, never training from garbage."""
    out = tmp_path / "run"
    assert _train("warmstart", out) == 0
    (out / "metrics.parquet").unlink()  # as after a kill between the last checkpoint and the outputs
    saved = list_checkpoints(out / "checkpoints")
    assert len(saved) == 2, saved  # the newest two are kept
    newest = saved[-1]
    data = bytearray(newest.read_bytes())
    if damage == "truncate":
        data = data[: len(data) * 2 // 3]
    else:  # one bit in the middle of the payload; the container stays readable
        data[len(data) // 2] ^= 0x01
    newest.write_bytes(bytes(data))

    assert _train("warmstart", out) == 0
    log = (out / "train.log").read_text()
    assert "falling back to the previous checkpoint" in log
    assert f"resuming from checkpoint at step {int(saved[0].stem.split('_')[1])} " in log
    assert newest.with_suffix(".corrupt").exists()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "metrics.parquet"), uninterrupted["warmstart"],
                                  check_exact=True)


