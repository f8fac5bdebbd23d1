"""Train one network on a sequence of supervised tasks, with interventions, checkpoints and resume.

Used by the warm-start study (task k = all data chunks seen so far) and by the nonstationary
streams. Each task is trained for whole epochs until the evaluated network's training accuracy
reaches a target or an epoch budget runs out (Ash & Adams train "to convergence"; the budget bounds a run that cannot
converge). At every task end the evaluated network (``intervention.eval_net``, e.g. the Tortoise)
is scored on the task's evaluation sets.

Resumption is exact: a checkpoint (written atomically at epoch boundaries) holds the network,
optimiser, intervention state, every RNG state including the mini-batch generator, the step count
and the metric rows so far, so a killed run restarted from it produces the same metrics, row for
row, as an uninterrupted run. SIGTERM/SIGUSR1 (SLURM's preemption and time-limit warnings) write
a checkpoint at the next epoch end and stop the run (``runtime.preemption``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from plasticlab.interventions import Intervention, TrainContext
from plasticlab.runtime import preemption
from plasticlab.runtime.checkpoint import load_resumable_checkpoint, run_fingerprint, save_checkpoint
from plasticlab.runtime.seeding import rng_state, set_rng_state
from plasticlab.studies.base import RunSpec
from plasticlab.losses import LOSSES, SCORES
from plasticlab.optim import make_adamw
from plasticlab.supervised.augment import crop_and_flip

log = logging.getLogger(__name__)


@dataclass
class Task:
    """Training data of one task and the sets scored when it ends (name → (inputs, targets))."""

    x: torch.Tensor
    y: torch.Tensor
    eval_sets: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    loss: str = "cross_entropy"


@dataclass(frozen=True)
class TrainerConfig:
    """Optimisation settings; AdamW always, so weight decay (if any) is decoupled."""

    batch_size: int = 64
    max_epochs: int = 100
    target_train_accuracy: float | None = 0.99
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    grad_clip: float | None = None
    augment: bool = False
    checkpoint_every_epochs: int = 5
    implementation: str = "plasticlab"  # AdamW from plasticlab.optim, or "torch"

    @classmethod
    def from_config(cls, protocol: dict[str, Any], optimizer: dict[str, Any]) -> "TrainerConfig":
        keys = {"batch_size", "max_epochs", "target_train_accuracy", "augment", "checkpoint_every_epochs"}
        kwargs = {k: v for k, v in protocol.items() if k in keys}
        kwargs.update({k: (tuple(v) if k == "betas" else v) for k, v in optimizer.items()})
        return cls(**kwargs)


@torch.no_grad()
def evaluate(net: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy",
             batch_size: int = 1024) -> dict[str, float]:
    """Mean loss and the task type's score (accuracy or R²) of ``net`` on (x, y), in eval mode."""
    was_training = net.training
    net.eval()
    outputs = torch.cat([net(x[start : start + batch_size]) for start in range(0, len(x), batch_size)])
    net.train(was_training)
    score_name, score = SCORES[loss]
    return {"loss": float(LOSSES[loss](outputs, y)), score_name: score(outputs, y)}


class _Recorder:
    """Collects long-format metric rows; rows are plain tuples so checkpoints stay small."""

    columns = ["task", "epoch", "step", "phase", "metric", "value"]

    def __init__(self, rows: list[tuple] | None = None):
        self.rows: list[tuple] = rows or []

    def add(self, task: int, epoch: int, step: int, phase: str, values: dict[str, float]) -> None:
        for metric, value in values.items():
            self.rows.append((task, epoch, step, phase, metric, float(value)))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.columns)


@preemption.safe_points()  # SIGTERM/SIGUSR1: checkpoint at the next epoch end, then stop
def train_on_tasks(
    run: RunSpec,
    tasks: list[Task],
    make_net: Callable[[], nn.Module],
    intervention: Intervention,
    config: TrainerConfig,
    crash_after_checkpoints: int | None = None,
    on_task_end: Callable[[int, nn.Module], None] | None = None,
) -> pd.DataFrame:
    """Train through ``tasks`` in order and return the long-format metrics of the run.

    ``make_net`` builds the bare architecture from torch's global RNG; the intervention's
    ``build`` is applied on top. ``crash_after_checkpoints`` kills the process (SIGKILL) right
    after that many checkpoints were written in this process: the resume tests use it.
    ``on_task_end(tasks_done, eval_net)`` is called after each task (and with 0 before the
    first), e.g. to save snapshots that a later probe step analyses.
    """
    device = torch.device(run.device)

    def fresh_net() -> nn.Module:
        return intervention.build(make_net()).to(device)

    net = fresh_net()
    optimizer = make_adamw(
        net.parameters(), config.implementation,
        **intervention.optimizer_kwargs({"lr": config.lr, "betas": config.betas, "eps": config.eps, "weight_decay": 0.0}),
    )
    ctx = TrainContext(net=net, optimizer=optimizer, fresh_net=fresh_net)
    intervention.on_train_start(ctx)
    batch_gen = torch.Generator().manual_seed(run.seed)
    recorder = _Recorder()
    start_task, start_epoch = 0, 0

    fingerprint = run_fingerprint(run)
    resumed = load_resumable_checkpoint(run.checkpoint_dir, fingerprint)
    if resumed is not None:
        position, state = resumed
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        intervention.load_state_dict(state["intervention"], ctx)
        set_rng_state(state["rng"])
        batch_gen.set_state(state["batch_generator"])
        recorder = _Recorder(state["rows"])
        ctx.step, start_task, start_epoch = state["step"], state["task"], state["epoch"]
        log.info("resuming from checkpoint at step %d (task %d, epoch %d)", position, start_task, start_epoch)

    checkpoints_written = 0

    def checkpoint(task: int, epoch: int) -> None:
        nonlocal checkpoints_written
        state = {
            "net": net.state_dict(),
            "optimizer": optimizer.state_dict(),
            "intervention": intervention.state_dict(),
            "rng": rng_state(),
            "batch_generator": batch_gen.get_state(),
            "rows": recorder.rows,
            "step": ctx.step,
            "task": task,
            "epoch": epoch,
            "fingerprint": fingerprint,
        }
        save_checkpoint(run.checkpoint_dir, ctx.step, state)
        checkpoints_written += 1
        if crash_after_checkpoints is not None and checkpoints_written >= crash_after_checkpoints:
            import os
            import signal

            log.warning("fault injection: killing this process after %d checkpoints", checkpoints_written)
            os.kill(os.getpid(), signal.SIGKILL)
        preemption.stop_if_requested(f"task {task}, epoch {epoch} (step {ctx.step})")

    if on_task_end is not None and start_task == 0 and start_epoch == 0:
        on_task_end(0, intervention.eval_net(ctx))
    progress = tqdm(total=len(tasks), initial=start_task, desc=f"{run.study}/{run.variant}/seed={run.seed}",
                    unit="task", disable=None, mininterval=1.0)
    for task_index in range(start_task, len(tasks)):
        task = tasks[task_index]
        ctx.task = task_index
        first_epoch = start_epoch if task_index == start_task else 0
        if first_epoch == 0:
            intervention.on_task_start(ctx, task_index)
        x_train, y_train = task.x.to(device), task.y.to(device)
        loss_fn = LOSSES[task.loss]
        n = len(x_train)
        steps_per_epoch = math.ceil(n / config.batch_size)
        for epoch in range(first_epoch, config.max_epochs):
            net.train()
            order = torch.randperm(n, generator=batch_gen).to(device)
            loss_sum = 0.0
            for batch_index in range(steps_per_epoch):
                index = order[batch_index * config.batch_size : (batch_index + 1) * config.batch_size]
                inputs = x_train[index]
                if config.augment:
                    inputs = crop_and_flip(inputs, batch_gen)
                loss = loss_fn(net(inputs), y_train[index])
                extra = intervention.loss(ctx, inputs)
                total = loss if extra is None else loss + extra
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                if config.grad_clip is not None:
                    nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
                optimizer.step()
                ctx.step += 1
                intervention.after_step(ctx)
                loss_sum += loss.item()
            epoch_values = {"train_loss": loss_sum / steps_per_epoch}
            converged = False
            if config.target_train_accuracy is not None:
                # "Fits the data" is judged on the evaluated network (the Tortoise for Hare &
                # Tortoise), so every variant is compared at the same training accuracy.
                train_eval = evaluate(intervention.eval_net(ctx), x_train, y_train, task.loss)
                score_name = SCORES[task.loss][0]
                epoch_values[f"train_{score_name}"] = train_eval[score_name]
                converged = "accuracy" in train_eval and train_eval["accuracy"] >= config.target_train_accuracy
            recorder.add(task_index, epoch, ctx.step, "epoch", epoch_values)
            if converged or epoch + 1 == config.max_epochs:
                _record_task_end(recorder, intervention.eval_net(ctx), task_index, epoch + 1, ctx.step, x_train, y_train, task)
                if on_task_end is not None:
                    on_task_end(task_index + 1, intervention.eval_net(ctx))
                checkpoint(task_index + 1, 0)
                break
            if (epoch + 1) % config.checkpoint_every_epochs == 0 or preemption.requested():
                checkpoint(task_index, epoch + 1)
        progress.update(1)
        last = {m: v for (t, _, _, p, m, v) in recorder.rows if t == task_index and p == "task_end"}
        log.info("task %d/%d done: %d epochs, %s", task_index + 1, len(tasks), last.get("epochs", 0),
                 ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k.endswith(("accuracy", "r2"))))
    progress.close()
    return recorder.frame()


def _record_task_end(recorder: _Recorder, eval_net: nn.Module, task_index: int, epochs: int, step: int,
                     x_train: torch.Tensor, y_train: torch.Tensor, task: Task) -> None:
    """Score the evaluated network on the task's training data and every evaluation set."""
    values: dict[str, float] = {"epochs": epochs}
    score_name = SCORES[task.loss][0]
    train_eval = evaluate(eval_net, x_train, y_train, task.loss)
    values[f"train_{score_name}"], values["train_loss_eval"] = train_eval[score_name], train_eval["loss"]
    device = x_train.device
    for name, (x, y) in task.eval_sets.items():
        scores = evaluate(eval_net, x.to(device), y.to(device), task.loss)
        values[f"{name}_{score_name}"], values[f"{name}_loss"] = scores[score_name], scores["loss"]
    recorder.add(task_index, epochs - 1, step, "task_end", values)
