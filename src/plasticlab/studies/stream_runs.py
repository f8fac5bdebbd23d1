"""Training one network on one task stream: shared by the stream studies (disentangle,
understanding, capacity), which differ only in their grids, probes and figures."""

from __future__ import annotations

import math
from typing import Any, Callable

import pandas as pd
import torch

from plasticlab import interventions, nets
from plasticlab.data import load_dataset
from plasticlab.runtime.seeding import seed_everything
from plasticlab.studies.base import RunSpec
from plasticlab.supervised import Task, TrainerConfig, train_on_tasks
from plasticlab.supervised.streams import build_stream


def stream_setup(config: dict[str, Any], seed: int) -> tuple[list[Task], Callable[[], torch.nn.Module], Any]:
    """The run's tasks, a factory for its (intervention-built) network, and the intervention."""
    data = load_dataset(config["dataset"], config.get("data_dir"))
    tasks, outputs = build_stream(config["stream"], data, config["protocol"]["tasks"], seed, config.get("stream_options"))
    intervention = interventions.build(config["interventions"])
    input_shape = tuple(tasks[0].x.shape[1:])

    def make_net() -> torch.nn.Module:
        return nets.build_net(config["model"], input_shape, outputs)

    return tasks, make_net, intervention


def train_stream(run: RunSpec, crash_after_checkpoints: int | None = None,
                 on_task_end: Callable[[int, torch.nn.Module], None] | None = None) -> pd.DataFrame:
    """Train ``run`` on its stream with a fixed step budget per task; long-format metrics."""
    config, protocol = run.config, run.config["protocol"]
    seed_everything(run.seed)
    tasks, make_net, intervention = stream_setup(config, run.seed)
    batch_size = protocol.get("batch_size", 64)
    # every task gets the same number of optimiser steps, whatever its size (whole epochs)
    epochs = max(1, round(protocol["steps_per_task"] / math.ceil(len(tasks[0].y) / batch_size)))
    trainer_config = TrainerConfig(
        batch_size=batch_size, max_epochs=epochs, target_train_accuracy=None,
        checkpoint_every_epochs=protocol.get("checkpoint_every_epochs", 5),
        **{k: (tuple(v) if k == "betas" else v) for k, v in config.get("optimizer", {}).items()},
    )
    frame = train_on_tasks(run, tasks, make_net, intervention, trainer_config,
                           crash_after_checkpoints=crash_after_checkpoints, on_task_end=on_task_end)
    frame.insert(0, "study", run.study)
    frame.insert(1, "variant", run.variant)
    frame.insert(2, "seed", run.seed)
    return frame
