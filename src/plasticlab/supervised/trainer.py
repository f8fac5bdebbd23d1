"""Train networks on a sequence of supervised tasks, with interventions, checkpoints and resume.

Used by the warm-start study (phases of a growing training set) and by the nonstationary streams.
Each task is trained for whole epochs: a fixed budget (``Task.epochs``, else
``TrainerConfig.max_epochs``), optionally cut short once the evaluated network's training
accuracy reaches a target (Ash & Adams train "to convergence"). At every task end the evaluated
network (``intervention.eval_net``, e.g. the Tortoise) is scored on the task's evaluation sets.
Per task the optimiser can be rebuilt (Hare & Tortoise build a new AdamW for every phase) with a
linear learning-rate warm-up over the first part of the task.

One call trains one run (``Solo``) or the seeds of one variant stacked into one network
(``Stacked``, ``plasticlab.supervised.members``); the loop is the same and each stacked member
computes what it would alone.

Resumption is exact: a checkpoint (written atomically at epoch boundaries, one per run) holds the
network, optimiser, intervention state, every RNG state including the mini-batch generator, the
step count and the metric rows so far, so a killed run restarted from it produces the same
metrics, row for row, as an uninterrupted run. SIGTERM/SIGUSR1 (SLURM's preemption and time-limit
warnings) write a checkpoint at the next epoch end and stop the run (``runtime.preemption``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from plasticlab.interventions import Intervention, TrainContext
from plasticlab.losses import SCORES
from plasticlab.optim import make_adamw
from plasticlab.runtime import preemption
from plasticlab.runtime.checkpoint import load_resumable_checkpoint, run_fingerprint, save_checkpoint
from plasticlab.supervised.augment import crop_and_flip
from plasticlab.supervised.members import Solo, Stacked, outputs, scores

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # importing plasticlab.studies here would import every study (a cycle)
    from plasticlab.studies.base import RunSpec


class MembersOutOfStep(RuntimeError):
    """The runs of a stacked job have checkpoints at different positions (a job killed while
    writing them): train them one by one, each resuming from its own checkpoint."""


@dataclass
class Task:
    """Training data of one task and the sets scored when it ends (name → (inputs, targets)).

    ``epochs``: this task's epoch budget (else the trainer's ``max_epochs``). In a stacked job
    every tensor has a leading member axis.
    """

    x: torch.Tensor
    y: torch.Tensor
    eval_sets: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    loss: str = "cross_entropy"
    epochs: int | None = None


@dataclass(frozen=True)
class TrainerConfig:
    """Optimisation settings; AdamW always, so weight decay (if any) is decoupled.

    ``weight_decay`` is the base decoupled decay every variant gets (an intervention may replace
    it); ``warmup_fraction`` warms the learning rate up linearly from 0 over that share of each
    task's steps; ``rebuild_optimizer_each_task`` starts every task with a new optimiser.
    """

    batch_size: int = 64
    max_epochs: int = 100
    target_train_accuracy: float | None = 0.99
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_fraction: float = 0.0
    rebuild_optimizer_each_task: bool = False
    grad_clip: float | None = None
    augment: bool = False
    checkpoint_every_epochs: int = 5
    implementation: str = "plasticlab"  # plasticlab.optim's AdamW; "fused": on torch's fused kernel (faster, benchmarks/adamw_per_job.py)

    @classmethod
    def from_config(cls, protocol: dict[str, Any], optimizer: dict[str, Any]) -> "TrainerConfig":
        keys = {"batch_size", "max_epochs", "target_train_accuracy", "augment", "checkpoint_every_epochs",
                "warmup_fraction", "rebuild_optimizer_each_task"}
        kwargs = {k: v for k, v in protocol.items() if k in keys}
        kwargs.update({k: (tuple(v) if k == "betas" else v) for k, v in optimizer.items()})
        return cls(**kwargs)


def warmup_lr(lr: float, step_in_task: int, task_steps: int, fraction: float) -> float:
    """Learning rate at step ``step_in_task`` (from 0) of a task of ``task_steps`` steps: linear
    from 0 over the first ``int(fraction · task_steps)`` steps, then ``lr`` (the reference's
    warm-up, which starts at 0 on the first step)."""
    warmup = int(fraction * task_steps)
    return lr * step_in_task / warmup if step_in_task < warmup else lr


def evaluate(net: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy",
             batch_size: int = 1024) -> dict[str, float]:
    """Mean loss and the task type's score (accuracy or R²) of ``net`` on (x, y), in eval mode."""
    return scores(outputs(net, x, batch_size), y, loss)


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
    members: RunSpec | Solo | Stacked,
    tasks: list[Task],
    make_net: Callable[[int], nn.Module],
    intervention: Intervention,
    config: TrainerConfig,
    crash_after_checkpoints: int | None = None,
    on_task_end: Callable[[int, int, nn.Module], None] | None = None,
) -> list[pd.DataFrame]:
    """Train through ``tasks`` in order and return each run's long-format metrics.

    ``make_net(member)`` builds member ``member``'s bare architecture from torch's global RNG;
    the intervention's ``build`` is applied on top. ``crash_after_checkpoints`` kills the process
    (SIGKILL) right after that many checkpoints were written in this process: the resume tests
    use it. ``on_task_end(member, tasks_done, eval_net)`` is called after each task (and with 0
    before the first), e.g. to save snapshots that a later probe step analyses.
    """
    members = members if isinstance(members, Solo) else Solo(members)
    runs = members.runs
    if isinstance(members, Stacked) and (config.target_train_accuracy is not None or config.augment):
        raise ValueError("stacked seeds need a fixed epoch budget and no augmentation (members would stop at "
                         "different epochs / share one augmentation stream): train them one by one")
    device = torch.device(runs[0].device)

    def build_member(member: int) -> nn.Module:
        return intervention.build(make_net(member)).to(device)

    def fresh_net() -> nn.Module:
        return members.build(build_member)

    def new_optimizer(parameters: Any) -> Any:
        defaults = {"lr": config.lr, "betas": config.betas, "eps": config.eps, "weight_decay": config.weight_decay}
        return make_adamw(parameters, config.implementation, member_axis=members.member_axis,
                          **intervention.optimizer_kwargs(defaults))

    # Each member's architecture alone (for snapshots of one member); built under no member's
    # RNG stream, from a throwaway copy of the global state.
    templates: list[nn.Module] = []
    if isinstance(members, Stacked):
        saved = torch.get_rng_state()
        templates = [build_member(0) for _ in range(members.size)]
        torch.set_rng_state(saved)

    net = fresh_net()
    optimizer = new_optimizer(net.parameters())
    ctx = TrainContext(net=net, optimizer=optimizer, fresh_net=fresh_net)
    intervention.on_train_start(ctx)
    batch_gens = [torch.Generator().manual_seed(run.seed) for run in runs]
    recorders = [_Recorder() for _ in runs]
    start_task, start_epoch = 0, 0

    fingerprints = [run_fingerprint(run) for run in runs]
    resumed = [load_resumable_checkpoint(run.checkpoint_dir, fp) for run, fp in zip(runs, fingerprints)]
    if any(r is not None for r in resumed):
        positions = {r[0] if r is not None else None for r in resumed}
        if len(positions) > 1:
            raise MembersOutOfStep(f"checkpoints of {[run.seed for run in runs]} are at positions {sorted(map(str, positions))}")
        position = positions.pop()
        state = members.merge([r[1] for r in resumed])
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        intervention.load_state_dict(state["intervention"], ctx)
        members.set_rng_states(state["rng"])
        for gen, gen_state in zip(batch_gens, state["batch_generator"]):
            gen.set_state(gen_state)
        recorders = [_Recorder(rows) for rows in state["rows"]]
        ctx.step, start_task, start_epoch = state["step"], state["task"], state["epoch"]
        log.info("resuming from checkpoint at step %d (task %d, epoch %d)", position, start_task, start_epoch)

    checkpoints_written = 0

    def checkpoint(task: int, epoch: int) -> None:
        nonlocal checkpoints_written
        state = {
            "net": net.state_dict(),
            "optimizer": optimizer.state_dict(),
            "intervention": intervention.state_dict(),
            "rng": members.rng_states(),
            "batch_generator": [gen.get_state() for gen in batch_gens],
            "rows": [recorder.rows for recorder in recorders],
            "step": ctx.step,
            "task": task,
            "epoch": epoch,
            "fingerprint": fingerprints,
        }
        for run, member_state in zip(runs, members.split(state)):
            save_checkpoint(run.checkpoint_dir, ctx.step, member_state)
        checkpoints_written += 1
        if crash_after_checkpoints is not None and checkpoints_written >= crash_after_checkpoints:
            import os
            import signal

            log.warning("fault injection: killing this process after %d checkpoints", checkpoints_written)
            os.kill(os.getpid(), signal.SIGKILL)
        preemption.stop_if_requested(f"task {task}, epoch {epoch} (step {ctx.step})")

    def task_ended(tasks_done: int) -> None:
        if on_task_end is None:
            return
        evaluated = intervention.eval_net(ctx)
        for member in range(members.size):
            template = templates[member] if templates else None
            on_task_end(member, tasks_done, members.member_net(evaluated, template, member))

    if start_task == 0 and start_epoch == 0:
        task_ended(0)
    first = runs[0]
    label = f"seed={first.seed}" if len(runs) == 1 else f"seeds={','.join(str(r.seed) for r in runs)}"
    progress = tqdm(total=len(tasks), initial=start_task, desc=f"{first.study}/{first.variant}/{label}",
                    unit="task", disable=None, mininterval=1.0)
    for task_index in range(start_task, len(tasks)):
        task = tasks[task_index]
        ctx.task = task_index
        first_epoch = start_epoch if task_index == start_task else 0
        if first_epoch == 0:
            intervention.on_task_start(ctx, task_index)
            if config.rebuild_optimizer_each_task:
                optimizer = ctx.optimizer = new_optimizer(net.parameters())
        x_train, y_train = task.x.to(device), task.y.to(device)
        n = x_train.shape[1 if isinstance(members, Stacked) else 0]
        steps_per_epoch = math.ceil(n / config.batch_size)
        epochs = task.epochs if task.epochs is not None else config.max_epochs
        for epoch in range(first_epoch, epochs):
            net.train()
            orders = [torch.randperm(n, generator=gen).to(device) for gen in batch_gens]
            loss_sums = [0.0] * members.size
            for batch_index in range(steps_per_epoch):
                window = slice(batch_index * config.batch_size, (batch_index + 1) * config.batch_size)
                index = [order[window] for order in orders]
                inputs = members.gather(x_train, index)
                if config.augment:
                    inputs = crop_and_flip(inputs, batch_gens[0])
                loss, member_losses = members.task_loss(net(inputs), members.gather(y_train, index), task.loss)
                extra = intervention.loss(ctx, inputs)
                total = loss if extra is None else loss + extra
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                if config.grad_clip is not None:
                    members.clip(net, config.grad_clip)
                if config.warmup_fraction:
                    step_in_task = epoch * steps_per_epoch + batch_index
                    for group in optimizer.param_groups:
                        group["lr"] = warmup_lr(config.lr, step_in_task, epochs * steps_per_epoch, config.warmup_fraction)
                optimizer.step()
                ctx.step += 1
                intervention.after_step(ctx)
                loss_sums = [total + value for total, value in zip(loss_sums, member_losses.tolist())]
            intervention.on_epoch_end(ctx, epoch)
            converged = _record_epoch(recorders, members, intervention.eval_net(ctx), task_index, epoch, ctx.step,
                                      x_train, y_train, task, [value / steps_per_epoch for value in loss_sums], config)
            if converged or epoch + 1 == epochs:
                _record_task_end(recorders, members, intervention.eval_net(ctx), task_index, epoch + 1, ctx.step,
                                 x_train, y_train, task)
                task_ended(task_index + 1)
                checkpoint(task_index + 1, 0)
                break
            if (epoch + 1) % config.checkpoint_every_epochs == 0 or preemption.requested():
                checkpoint(task_index, epoch + 1)
        progress.update(1)
        last = {m: v for (t, _, _, p, m, v) in recorders[0].rows if t == task_index and p == "task_end"}
        log.info("task %d/%d done: %d epochs, %s", task_index + 1, len(tasks), last.get("epochs", 0),
                 ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k.endswith(("accuracy", "r2"))))
    progress.close()
    return [recorder.frame() for recorder in recorders]


def _record_epoch(recorders: list[_Recorder], members: Solo, eval_net: nn.Module, task_index: int, epoch: int,
                  step: int, x_train: torch.Tensor, y_train: torch.Tensor, task: Task, mean_losses: list[float],
                  config: TrainerConfig) -> bool:
    """Record each run's epoch; True when every run has reached the target training accuracy.

    "Fits the data" is judged on the evaluated network (the Tortoise for Hare & Tortoise), so
    every variant is compared at the same training accuracy.
    """
    values = [{"train_loss": float(loss)} for loss in mean_losses]
    converged = False
    if config.target_train_accuracy is not None:
        score_name = SCORES[task.loss][0]
        results = members.evaluate(eval_net, x_train, y_train, task.loss)
        for value, result in zip(values, results):
            value[f"train_{score_name}"] = result[score_name]
        converged = all("accuracy" in r and r["accuracy"] >= config.target_train_accuracy for r in results)
    for recorder, value in zip(recorders, values):
        recorder.add(task_index, epoch, step, "epoch", value)
    return converged


def _record_task_end(recorders: list[_Recorder], members: Solo, eval_net: nn.Module, task_index: int, epochs: int,
                     step: int, x_train: torch.Tensor, y_train: torch.Tensor, task: Task) -> None:
    """Score the evaluated network on the task's training data and every evaluation set."""
    score_name = SCORES[task.loss][0]
    values: list[dict[str, float]] = [{"epochs": epochs} for _ in recorders]
    for value, result in zip(values, members.evaluate(eval_net, x_train, y_train, task.loss)):
        value[f"train_{score_name}"], value["train_loss_eval"] = result[score_name], result["loss"]
    device = x_train.device
    for name, (x, y) in task.eval_sets.items():
        for value, result in zip(values, members.evaluate(eval_net, x.to(device), y.to(device), task.loss)):
            value[f"{name}_{score_name}"], value[f"{name}_loss"] = result[score_name], result["loss"]
    for recorder, value in zip(recorders, values):
        recorder.add(task_index, epochs - 1, step, "task_end", value)
