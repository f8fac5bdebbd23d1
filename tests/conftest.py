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
    """Longest first. The end-to-end tests (``slow``: Snakemake, DVC, SLURM) take minutes and the
    rest seconds; collected in file order they came last, so one pytest-xdist worker was still
    building the shared toy project when the other had run out of work. Started first, the toy
    build (``finished_project``) overlaps the other end-to-end tests and the quick tests fill the
    end. The toy-project check goes first of all, so the build starts at once."""
    def rank(item) -> tuple[int, int]:
        slow = item.get_closest_marker("slow") is not None
        builds_toy = "finished_project" in getattr(item, "fixturenames", ())
        if slow and builds_toy and "toy_config_runs_every_study" in item.name:
            return (0, 0)
        return (1, 0 if not builds_toy else 1) if slow else (2, 0)

    items.sort(key=rank)  # stable: file order within a rank
