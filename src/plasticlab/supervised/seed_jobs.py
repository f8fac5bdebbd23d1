"""Train the seeds of one variant in one process: stacked into one network where that is exact,
otherwise one after another.

A study describes a run by a :class:`RunSetup` (its tasks, its network factory, its interventions
and trainer settings), built right after the run's seed is set. :func:`train_runs` then trains
every run it is given and yields ``(run, metrics)``. Seeds are stacked (``members.Stacked``) when
every member's tasks have the same shapes, the interventions and the network can be stacked, the
device is the CPU and the protocol has a fixed epoch budget without augmentation; the metrics are
then equal to a solo run's (tested), and the job is ~2x faster (``benchmarks/supervised_seeds.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import pandas as pd
import torch
from torch import nn

from plasticlab import interventions
from plasticlab.runtime.seeding import rng_state, seed_everything
from plasticlab.supervised.members import Stacked, stackable_interventions
from plasticlab.supervised.stacking import NotStackable, stack_modules
from plasticlab.supervised.trainer import MembersOutOfStep, Task, TrainerConfig, train_on_tasks

log = logging.getLogger(__name__)

SnapshotHook = Callable[["RunSpec", int, nn.Module], None]

if TYPE_CHECKING:  # importing plasticlab.studies here would import every study (a cycle)
    from plasticlab.studies.base import RunSpec


@dataclass
class RunSetup:
    """Everything one run trains on, drawn from the run's seed."""

    tasks: list[Task]
    make_net: Callable[[], nn.Module]
    interventions: Any  # the variant's spec (a fresh intervention object is built per training call)
    trainer: TrainerConfig


def train_runs(runs: Sequence[RunSpec], setup: Callable[[RunSpec], RunSetup], *, stack: bool = True,
               crash_after_checkpoints: int | None = None,
               on_task_end: SnapshotHook | None = None) -> Iterator[tuple[RunSpec, list[tuple] | pd.DataFrame]]:
    """Train ``runs`` (the seeds of one variant) and yield each run with its metrics."""
    runs = list(runs)
    if stack and len(runs) > 1:
        try:
            yield from _train_stacked(runs, setup, crash_after_checkpoints, on_task_end)
            return
        except (NotStackable, MembersOutOfStep) as reason:
            log.info("training seeds one by one: %s", reason)
    for run in runs:
        yield run, train_solo(run, setup, crash_after_checkpoints, on_task_end)


def train_solo(run: RunSpec, setup: Callable[[RunSpec], RunSetup], crash_after_checkpoints: int | None = None,
               on_task_end: SnapshotHook | None = None) -> pd.DataFrame:
    seed_everything(run.seed)
    spec = setup(run)
    hook = None if on_task_end is None else (lambda member, tasks_done, net: on_task_end(run, tasks_done, net))
    [frame] = train_on_tasks(run, spec.tasks, lambda member: spec.make_net(), interventions.build(spec.interventions),
                             spec.trainer, crash_after_checkpoints=crash_after_checkpoints, on_task_end=hook)
    return frame


def _train_stacked(runs: list[RunSpec], setup: Callable[[RunSpec], RunSetup], crash_after_checkpoints: int | None,
                   on_task_end: SnapshotHook | None) -> Iterator[tuple[RunSpec, pd.DataFrame]]:
    setups, states = [], []
    for run in runs:
        seed_everything(run.seed)
        setups.append(setup(run))
        states.append(rng_state())
    first = setups[0]
    _check_stackable(runs, setups)
    members = Stacked(runs, states)
    tasks = [stack_tasks([s.tasks[k] for s in setups]) for k in range(len(first.tasks))]
    hook = None if on_task_end is None else (lambda member, tasks_done, net: on_task_end(runs[member], tasks_done, net))
    frames = train_on_tasks(members, tasks, lambda member: setups[member].make_net(),
                            interventions.build(first.interventions), first.trainer,
                            crash_after_checkpoints=crash_after_checkpoints, on_task_end=hook)
    yield from zip(runs, frames)


def _check_stackable(runs: list[RunSpec], setups: list[RunSetup]) -> None:
    first = setups[0]
    if any(run.device != "cpu" for run in runs):
        raise NotStackable("stacked seeds run on the CPU only")
    if not stackable_interventions(first.interventions):
        raise NotStackable(f"interventions {first.interventions!r} act per member in ways stacking cannot reproduce")
    if first.trainer.target_train_accuracy is not None or first.trainer.augment:
        raise NotStackable("the protocol stops each run at its own epoch or augments its inputs")
    if any(s.trainer != first.trainer or s.interventions != first.interventions for s in setups):
        raise NotStackable("runs differ in trainer settings or interventions")
    for k, task in enumerate(first.tasks):
        for other in setups[1:]:
            if not _same_shapes(task, other.tasks[k]):
                raise NotStackable(f"task {k} differs in size between seeds")
    saved = torch.get_rng_state()
    try:
        stack_modules([interventions.build(first.interventions).build(first.make_net()) for _ in range(2)])
    finally:
        torch.set_rng_state(saved)


def _same_shapes(a: Task, b: Task) -> bool:
    if a.x.shape != b.x.shape or a.y.shape != b.y.shape or a.loss != b.loss or a.epochs != b.epochs:
        return False
    if a.eval_sets.keys() != b.eval_sets.keys():
        return False
    return all(a.eval_sets[k][0].shape == b.eval_sets[k][0].shape for k in a.eval_sets)


def stack_tasks(tasks: list[Task]) -> Task:
    """One task whose tensors carry a leading member axis."""
    first = tasks[0]
    eval_sets = {name: (torch.stack([t.eval_sets[name][0] for t in tasks]), torch.stack([t.eval_sets[name][1] for t in tasks]))
                 for name in first.eval_sets}
    return replace(first, x=torch.stack([t.x for t in tasks]), y=torch.stack([t.y for t in tasks]), eval_sets=eval_sets)
