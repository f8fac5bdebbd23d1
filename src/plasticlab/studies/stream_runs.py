"""Training networks on one task stream: shared by the stream studies (disentangle,
understanding, capacity), which differ only in their grids, probes and figures."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Sequence

import pandas as pd
import torch

from plasticlab import interventions, nets
from plasticlab.data import load_dataset
from plasticlab.studies.base import RunSpec
from plasticlab.supervised import Task, TrainerConfig
from plasticlab.supervised.seed_jobs import RunSetup, SnapshotHook, train_runs, train_solo
from plasticlab.supervised.streams import build_stream


def stream_setup(config: dict[str, Any], seed: int) -> tuple[list[Task], Callable[[], torch.nn.Module], Any]:
    """The run's tasks, a factory for its (bare) network, and the intervention."""
    data = load_dataset(config["dataset"], config.get("data_dir"))
    tasks, outputs = build_stream(config["stream"], data, config["protocol"]["tasks"], seed, config.get("stream_options"))
    intervention = interventions.build(config["interventions"])
    input_shape = tuple(tasks[0].x.shape[1:])

    def make_net() -> torch.nn.Module:
        return nets.build_net(config["model"], input_shape, outputs)

    return tasks, make_net, intervention


def stream_trainer(config: dict[str, Any], task_size: int) -> TrainerConfig:
    """A fixed budget of ``steps_per_task`` optimiser steps per task, rounded to whole epochs."""
    protocol = config["protocol"]
    batch_size = protocol.get("batch_size", 64)
    epochs = max(1, round(protocol["steps_per_task"] / math.ceil(task_size / batch_size)))
    return TrainerConfig(
        batch_size=batch_size, max_epochs=epochs, target_train_accuracy=None,
        checkpoint_every_epochs=protocol.get("checkpoint_every_epochs", 5),
        **{k: (tuple(v) if k == "betas" else v) for k, v in config.get("optimizer", {}).items()},
    )


def setup_stream_run(run: RunSpec) -> RunSetup:
    tasks, make_net, _ = stream_setup(run.config, run.seed)
    return RunSetup(tasks, make_net, run.config["interventions"], stream_trainer(run.config, len(tasks[0].y)))


def train_stream(run: RunSpec, crash_after_checkpoints: int | None = None,
                 on_task_end: SnapshotHook | None = None) -> pd.DataFrame:
    """Train ``run`` on its stream with a fixed step budget per task; long-format metrics."""
    return _labelled(run, train_solo(run, setup_stream_run, crash_after_checkpoints, on_task_end))


def train_stream_seeds(runs: Sequence[RunSpec], crash_after_checkpoints: int | None = None,
                       on_task_end: SnapshotHook | None = None, **options: Any) -> Iterator[tuple[RunSpec, pd.DataFrame]]:
    """The seeds of one variant in one process (stacked where exact, ``supervised.seed_jobs``)."""
    for run, frame in train_runs(runs, setup_stream_run, crash_after_checkpoints=crash_after_checkpoints,
                                 on_task_end=on_task_end, **options):
        yield run, _labelled(run, frame)


def _labelled(run: RunSpec, frame: pd.DataFrame) -> pd.DataFrame:
    frame.insert(0, "study", run.study)
    frame.insert(1, "variant", run.variant)
    frame.insert(2, "seed", run.seed)
    return frame
