"""The agents on a CUDA device: the same arithmetic as on CPU, and a run that checkpoints and resumes.

Skipped without a GPU (CI has none); run on a GPU machine with ``python -m pytest tests/agents/test_cuda.py``.
The CPU results are the reference: a GPU update must agree with them to float32 round-off, and a
GPU run's checkpoints must resume (optimiser state and CUDA RNG restored onto the device).
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from plasticlab import interventions
from plasticlab.agents import DER, DQN, DERConfig, DQNConfig
from plasticlab.metrics.representation import effective_rank, srank, stable_rank
from plasticlab.optim import AdamW
from tests.agents.test_agents import make_batch, minatar_net
from tests.agents.test_loop import run_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _agent_pair(kind: str):
    """The same agent (same initial weights) on CPU and on CUDA."""
    torch.manual_seed(0)
    if kind == "dqn":
        build = lambda device: DQN(minatar_net(3), 3, DQNConfig(double=True, stack=1), interventions.build("none"), device)
    else:
        config = DERConfig(stack=1, atoms=11, v_min=-5.0, v_max=5.0)
        build = lambda device: DER(minatar_net(3, head="dueling", atoms=11, noisy=False), 3, config,
                                   interventions.build("none"), device)
    cpu = build("cpu")
    gpu = build("cuda")
    gpu.online.load_state_dict(cpu.online.state_dict())
    gpu.target.load_state_dict(cpu.target.state_dict())
    return cpu, gpu


@pytest.mark.parametrize("kind", ["dqn", "der"])
def test_updates_on_cuda_match_cpu(kind):
    cpu, gpu = _agent_pair(kind)
    assert next(gpu.online.parameters()).is_cuda
    for step in range(5):  # several steps: Adam's state and the fused kernel on the device are used
        batch = make_batch(3, seed=step)
        cpu_out, gpu_out = cpu.update(batch), gpu.update(copy.deepcopy(batch))
        torch.testing.assert_close(gpu_out["loss"].cpu(), cpu_out["loss"], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(gpu_out["priorities"].cpu(), cpu_out["priorities"], rtol=1e-4, atol=1e-5)
    for a, b in zip(cpu.online.parameters(), gpu.online.parameters()):
        torch.testing.assert_close(b.cpu(), a, rtol=1e-4, atol=1e-5)
    obs = make_batch(3, seed=9).obs
    np.testing.assert_array_equal(gpu.greedy_actions(obs), cpu.greedy_actions(obs))


def test_rank_metrics_of_cuda_features_equal_cpu():
    features = torch.randn(64, 8, dtype=torch.float64) @ torch.randn(8, 32, dtype=torch.float64)  # rank 8
    assert srank(features.cuda()) == srank(features) == 8
    assert effective_rank(features.cuda()) == pytest.approx(effective_rank(features), rel=1e-9)
    assert stable_rank(features.cuda()) == pytest.approx(stable_rank(features), rel=1e-9)


def test_fused_adamw_on_cuda_is_torch_fused_adamw():
    torch.manual_seed(0)
    ours_net = torch.nn.Linear(6, 4).cuda()
    theirs_net = copy.deepcopy(ours_net)
    ours = AdamW(ours_net.parameters(), lr=1e-2, weight_decay=0.1, fused=True)
    theirs = torch.optim.AdamW(theirs_net.parameters(), lr=1e-2, weight_decay=0.1, fused=True)
    for _ in range(10):
        x = torch.randn(16, 6, device="cuda")
        for net, optimizer in ((ours_net, ours), (theirs_net, theirs)):
            optimizer.zero_grad(set_to_none=True)
            net(x).square().mean().backward()
            optimizer.step()
    for a, b in zip(ours_net.parameters(), theirs_net.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def _train(config: dict, out: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    command = [sys.executable, "-m", "plasticlab.cli", "train", "hare_tortoise", "--variant", config["variant"],
               "--seed", "3", "--run-config", json.dumps(config), "--out", str(out), "--device", "cuda"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_cuda_run_checkpoints_and_resumes(tmp_path):
    """DER with noisy nets, PER, Hare & Tortoise and resets on the GPU, killed after three
    checkpoints and restarted: it resumes from the checkpoint (state restored onto the device) and
    ends with the same rows as an uninterrupted run; GPU kernels (atomics in convolution
    backward passes) need not be bitwise reproducible, so values are compared for closeness of
    what is deterministic (steps, phases) and finiteness, not bits."""
    config = run_config()
    whole = _train(config, tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    killed = _train(config, tmp_path / "killed", {"PLASTICLAB_CRASH_AFTER_CHECKPOINTS": "3"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = _train(config, tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step" in resumed.stderr
    expected = pd.read_parquet(tmp_path / "whole" / "metrics.parquet")
    actual = pd.read_parquet(tmp_path / "killed" / "metrics.parquet")
    keys = ["step", "phase", "metric"]
    pd.testing.assert_frame_equal(actual[keys].reset_index(drop=True), expected[keys].reset_index(drop=True))
    assert np.isfinite(actual["value"].to_numpy(float)).all()
    record = json.loads((tmp_path / "whole" / "run.json").read_text())
    assert "cuda" in json.dumps(record).lower()
