"""The intervention interface: optional hooks on the training loop.

An intervention changes *how* a network is trained without the trainer knowing which one it is:
the loop calls every hook at fixed points and each intervention overrides only the hooks it
needs. Supervised trainers and RL agents call the same hooks, so one implementation serves both.

Hook order inside one run::

    net = intervention.build(net)                      # architecture (LayerNorm, heads, ...)
    opt_kwargs = intervention.optimizer_kwargs(kwargs)  # optimiser settings (decoupled WD, ...)
    intervention.on_train_start(ctx)                    # remember initial weights, copy nets
    for each task (data chunk, environment phase):
        intervention.on_task_start(ctx, task)           # boundary resets, shrink & perturb
        for each epoch (supervised trainers):
            for each step:
                loss = task_loss + intervention.loss(ctx, inputs)
                optimizer.step()
                intervention.after_step(ctx)            # EMA, periodic resets, ReDo
            intervention.on_epoch_end(ctx, epoch)       # resets scheduled in epochs
    evaluate intervention.eval_net(ctx)                 # e.g. the Tortoise, not the Hare

All randomness in hooks must come from torch's global generator (or ``ctx.fresh_net``), whose
state the runtime checkpoints, so a resumed run repeats the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import torch
from torch import nn


@dataclass
class TrainContext:
    """What hooks may read and modify: the live network, its optimiser and the step count.

    ``fresh_net`` builds a newly initialised network of the same architecture (with every
    intervention's ``build`` applied), drawing from torch's global RNG.
    """

    net: nn.Module
    optimizer: torch.optim.Optimizer
    fresh_net: Callable[[], nn.Module]
    step: int = 0
    task: int = 0
    extras: dict[str, Any] = field(default_factory=dict)


class Intervention:
    """Base class: every hook is a no-op. Subclasses are dataclasses whose fields are the
    config parameters, so an unknown parameter in a config is a clear TypeError."""

    name: ClassVar[str] = ""

    def build(self, net: nn.Module) -> nn.Module:
        """Change the architecture before the optimiser is created."""
        return net

    def optimizer_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Change optimiser settings (e.g. decoupled weight decay) before it is created."""
        return kwargs

    def on_train_start(self, ctx: TrainContext) -> None:
        """Called once, after the network and optimiser exist and before the first step."""

    def on_task_start(self, ctx: TrainContext, task: int) -> None:
        """Called at the start of each task (0-based); task 0 is the very first one."""

    def loss(self, ctx: TrainContext, inputs: torch.Tensor) -> torch.Tensor | None:
        """An extra loss term added to the task loss, or None."""
        return None

    def after_step(self, ctx: TrainContext) -> None:
        """Called after every optimiser step; ``ctx.step`` already counts this step."""

    def on_epoch_end(self, ctx: TrainContext, epoch: int) -> None:
        """Called by epoch-based trainers after each epoch (``epoch`` counts from 0 within the
        task); agents, which have no epochs, never call it."""

    def eval_net(self, ctx: TrainContext) -> nn.Module:
        """The network whose predictions are evaluated (and that acts, for agents)."""
        return ctx.net

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume this intervention exactly (copies, counters)."""
        return {}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        """Restore what ``state_dict`` returned; ``ctx`` holds the restored network."""


class Composite(Intervention):
    """Several interventions applied in the order given (``layernorm+weight_decay``).

    Hooks run in order; the evaluated network is the one chosen by the last intervention that
    chooses one other than the live network.
    """

    name = "composite"

    def __init__(self, parts: list[Intervention]):
        self.parts = list(parts)

    def build(self, net: nn.Module) -> nn.Module:
        for part in self.parts:
            net = part.build(net)
        return net

    def optimizer_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        for part in self.parts:
            kwargs = part.optimizer_kwargs(kwargs)
        return kwargs

    def on_train_start(self, ctx: TrainContext) -> None:
        for part in self.parts:
            part.on_train_start(ctx)

    def on_task_start(self, ctx: TrainContext, task: int) -> None:
        for part in self.parts:
            part.on_task_start(ctx, task)

    def loss(self, ctx: TrainContext, inputs: torch.Tensor) -> torch.Tensor | None:
        terms = [t for t in (part.loss(ctx, inputs) for part in self.parts) if t is not None]
        return torch.stack(terms).sum() if terms else None

    def after_step(self, ctx: TrainContext) -> None:
        for part in self.parts:
            part.after_step(ctx)

    def on_epoch_end(self, ctx: TrainContext, epoch: int) -> None:
        for part in self.parts:
            part.on_epoch_end(ctx, epoch)

    def eval_net(self, ctx: TrainContext) -> nn.Module:
        chosen = ctx.net
        for part in self.parts:
            candidate = part.eval_net(ctx)
            if candidate is not ctx.net:
                chosen = candidate
        return chosen

    def state_dict(self) -> dict[str, Any]:
        return {f"{i}:{part.name}": part.state_dict() for i, part in enumerate(self.parts)}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        for i, part in enumerate(self.parts):
            part.load_state_dict(state[f"{i}:{part.name}"], ctx)
