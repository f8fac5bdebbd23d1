"""Shared fixtures: a tiny warm-start config that trains in about a second per run."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]

# One torch thread in the test process, as every job of the workflow runs (threads_per_run: 1).
# The tests' networks are tiny: on a 2-core machine, whose other core is busy with the tests'
# Snakemake subprocesses, a second intra-op thread spins and makes a small backward pass about ten
# times slower (measured: a shortened warm-start run 0.2 s on one thread, 2.1 s on two).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def restore_torch_process_flags():
    """Keep process-wide torch settings from leaking between tests: building a ResNet switches
    oneDNN off on CPUs without AVX-512 (nets.resnet), which changes the float results of later
    convolutions in this process; a test comparing an in-process run with a fresh subprocess
    would then see differences that no real run has."""
    mkldnn, threads = torch.backends.mkldnn.enabled, torch.get_num_threads()
    yield
    torch.backends.mkldnn.enabled = mkldnn
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def default_config() -> dict[str, Any]:
    with open(REPO / "config" / "config.yaml") as handle:
        return yaml.safe_load(handle)


def tiny_warmstart_section() -> dict[str, Any]:
    """Three phases, a small MLP, two variants, two seeds: the whole grid trains in seconds."""
    return {
        "enabled": True,
        "seeds": 2,
        "dataset": "digits",
        "model": {"name": "mlp", "hidden": [32]},
        "optimizer": {"lr": 5e-3},
        "protocol": "tiny",
        "protocols": {"tiny": {"phases": [{"data": 0.3, "label_noise": 0.3}, {"data": 0.3}, {"data": 0.4}],
                               "batch_size": 64, "max_epochs": 6, "target_train_accuracy": 0.99,
                               "checkpoint_every_epochs": 2}},
        "variants": {"warm": "none", "fresh": [{"name": "reset", "layers": "all"}]},
    }


@pytest.fixture
def tiny_config() -> dict[str, Any]:
    return {"data_dir": "data", "device": "cpu", "threads_per_run": 1,
            "studies": {"warmstart": copy.deepcopy(tiny_warmstart_section())}}


def pytest_collection_modifyitems(session, config, items):
    """Order for two pytest-xdist workers on two CPUs. The shared toy project (``finished_project``,
    three minutes of the run) is built by the first test, so it starts at once; the other end-to-end
    tests that do not read it (``slow``: Snakemake, DVC) come next and the quick tests after them,
    so the other worker has work that never waits for the build; the tests that read the finished
    project come last, when it exists, and are handed to whichever worker is free. (In file order
    the build started late and one worker idled at the end; with every slow test first, the other
    worker soon blocked on the build's lock.)"""
    def rank(item) -> int:
        reads_toy = "finished_project" in getattr(item, "fixturenames", ())
        if reads_toy and "toy_config_runs_every_study" in item.name:
            return 0
        if item.get_closest_marker("slow") is not None and not reads_toy:
            return 1
        return 3 if reads_toy else 2

    items.sort(key=rank)  # stable: file order within a rank
