"""Supervised training on sequences of tasks (warm-start chunks, nonstationary streams)."""

from plasticlab.supervised.trainer import Task, TrainerConfig, train_on_tasks

__all__ = ["Task", "TrainerConfig", "train_on_tasks"]
