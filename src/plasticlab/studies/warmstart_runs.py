"""What one warm-start run trains on: the training subset, the phases of the chosen protocol and
their label noise, the trainer settings and the network (the protocol is described in
:mod:`plasticlab.studies.warmstart`). Kept apart from the study's declaration so that the jobs
that only read results (aggregation, figures, claims) do not import torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from plasticlab import nets
from plasticlab.data import Dataset, load_dataset
from plasticlab.studies.base import RunSpec
from plasticlab.supervised import Task, TrainerConfig
from plasticlab.supervised.seed_jobs import RunSetup

SUBSET_SEED = 0  # the training subset (``train_subset``) is fixed, independent of run seeds


def phase_epochs(protocol: dict[str, Any]) -> list[int | None]:
    """Epoch budget of each phase: ``int(base_epochs / data)`` (the reference scales by the share
    of data that arrives; at least 1), or None (the trainer's ``max_epochs``) without ``base_epochs``."""
    base = protocol.get("base_epochs")
    return [max(1, int(base / phase["data"])) if base is not None else None for phase in protocol["phases"]]


def train_subset(data: Dataset, size: int | None) -> Dataset:
    """The first ``size`` samples of a fixed permutation of the training set (or all of it)."""
    if size is None or size >= len(data.y_train):
        return data
    keep = np.sort(np.random.default_rng(SUBSET_SEED).permutation(len(data.y_train))[:size])
    return Dataset(data.name, data.x_train[keep], data.y_train[keep], data.x_test, data.y_test, data.n_classes)


def build_tasks(data: Dataset, protocol: dict[str, Any], seed: int) -> list[Task]:
    """Phase k trains on all samples that arrived in phases 0..k, with phase k's label noise.

    Scored at the phase end: the test set, and the phase's samples with their clean labels.
    """
    rng = np.random.default_rng(seed)
    n_total = len(data.y_train)
    order = rng.permutation(n_total)
    x_all, y_clean = torch.from_numpy(data.x_train), data.y_train
    test = (torch.from_numpy(data.x_test), torch.from_numpy(data.y_test))
    tasks, arrived = [], 0
    for phase, epochs in zip(protocol["phases"], phase_epochs(protocol)):
        arrived += int(n_total * phase["data"])
        index = order[:arrived]
        labels = noisy_labels(y_clean[index], phase.get("label_noise", 0.0), data.n_classes, rng)
        tasks.append(Task(x=x_all[index], y=torch.from_numpy(labels), epochs=epochs,
                          eval_sets={"test": test, "train_clean": (x_all[index], torch.from_numpy(y_clean[index]))}))
    return tasks


def noisy_labels(labels: np.ndarray, rate: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``labels`` with exactly ``int(n · rate)`` of them, chosen at random, replaced by a wrong class
    drawn uniformly from the other ``n_classes − 1``."""
    out = labels.copy()
    chosen = rng.choice(len(labels), size=int(len(labels) * rate), replace=False)
    out[chosen] = (labels[chosen] + rng.integers(1, n_classes, size=len(chosen))) % n_classes
    return out


def trainer_settings(config: dict[str, Any]) -> TrainerConfig:
    """The study's optimiser settings with the protocol's on top, as the trainer's config."""
    protocol = config["protocol"]
    optimizer = {**config.get("optimizer", {}), **protocol.get("optimizer", {})}
    settings = {key: protocol[key] for key in ("batch_size", "max_epochs", "target_train_accuracy", "warmup_fraction",
                                               "augment", "checkpoint_every_epochs") if key in protocol}
    settings.setdefault("target_train_accuracy", None)
    settings["rebuild_optimizer_each_task"] = protocol.get("rebuild_optimizer_each_phase", False)
    return TrainerConfig.from_config(settings, optimizer)


def setup_run(run: RunSpec) -> RunSetup:
    """Data, phases and network factory of one run (drawn from its seed)."""
    config = run.config
    data = train_subset(load_dataset(config["dataset"], config.get("data_dir")), config.get("train_subset"))

    def make_net() -> torch.nn.Module:
        return nets.build_net(config["model"], data.input_shape, data.n_classes)

    return RunSetup(build_tasks(data, config["protocol"], run.seed), make_net, config["interventions"], trainer_settings(config))
