"""Hare & Tortoise (Lee et al. 2024): a fast learner reset periodically to its slow average.

The Tortoise is an exponential moving average of the Hare (parameters *and* floating buffers such
as BatchNorm statistics), updated after every step; every ``reset_every_steps`` steps (or, in
epoch-based supervised training, every ``reset_every_epochs`` epochs of the current task, as the
reference code counts) the Hare is set to the Tortoise. The Tortoise is the network that is evaluated (and acts, for agents).
Pitfalls ruled out by the tests: the two networks never share memory after a reset, and the
EMA follows the Hare's whole trajectory.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from plasticlab.interventions._util import copy_module_state, reset_optimizer_state
from plasticlab.interventions.base import Intervention, TrainContext
from plasticlab.interventions.registry import register


@register("hare_tortoise")
@dataclass
class HareTortoise(Intervention):
    """Tortoise ← ema·Tortoise + (1 − ema)·Hare after every step; Hare ← Tortoise every
    ``reset_every_steps`` steps, or after every ``reset_every_epochs``-th epoch of a task when
    that is set (then the step schedule is off), and at task starts after the first if
    ``reset_at_task_start``; optionally dropping the Hare's optimiser state.

    Epochs count from the start of each task: resets after epochs k, 2k, ... of every task. (The
    reference code's test ``epoch % k == 0`` on a 0-based epoch also resets after the first epoch
    of every task; we do not copy that off-by-one.)"""

    ema: float = 0.999
    reset_every_steps: int = 1000
    reset_every_epochs: int | None = None
    reset_at_task_start: bool = False
    reset_optimizer: bool = False
    tortoise: nn.Module | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.ema < 1.0:  # also rejects NaN
            raise ValueError(f"hare_tortoise: ema must be in [0, 1), got {self.ema}")
        if self.reset_every_steps < 1:
            raise ValueError(f"hare_tortoise: reset_every_steps must be positive, got {self.reset_every_steps}")
        if self.reset_every_epochs is not None and self.reset_every_epochs < 1:
            raise ValueError(f"hare_tortoise: reset_every_epochs must be positive, got {self.reset_every_epochs}")

    def on_train_start(self, ctx: TrainContext) -> None:
        """The Tortoise starts as an independent copy of the initial Hare, outside autograd."""
        self.tortoise = copy.deepcopy(ctx.net)
        for param in self.tortoise.parameters():
            param.requires_grad_(False)
            param.grad = None

    @torch.no_grad()
    def after_step(self, ctx: TrainContext) -> None:
        tortoise = self._require_tortoise()
        hare_state = ctx.net.state_dict()
        slow_floats, fast_floats = [], []
        for name, slow in tortoise.state_dict().items():
            fast = hare_state[name]
            if slow.dtype.is_floating_point:
                slow_floats.append(slow)
                fast_floats.append(fast)
            else:  # e.g. BatchNorm's num_batches_tracked: an average of counters is meaningless
                slow.copy_(fast)
        if slow_floats:
            torch._foreach_mul_(slow_floats, self.ema)
            torch._foreach_add_(slow_floats, fast_floats, alpha=1.0 - self.ema)
        if self.reset_every_epochs is None and ctx.step % self.reset_every_steps == 0:
            self.reset_hare(ctx)

    def on_epoch_end(self, ctx: TrainContext, epoch: int) -> None:
        if self.reset_every_epochs is not None and (epoch + 1) % self.reset_every_epochs == 0:
            self.reset_hare(ctx)

    def on_task_start(self, ctx: TrainContext, task: int) -> None:
        if self.reset_at_task_start and task > 0:
            self.reset_hare(ctx)

    @torch.no_grad()
    def reset_hare(self, ctx: TrainContext) -> None:
        """Copy the Tortoise's parameters and buffers into the Hare in place (no aliasing)."""
        copy_module_state(ctx.net, self._require_tortoise())
        if self.reset_optimizer:
            reset_optimizer_state(ctx.optimizer, ctx.net.parameters())

    def eval_net(self, ctx: TrainContext) -> nn.Module:
        return self.tortoise if self.tortoise is not None else ctx.net

    def state_dict(self) -> dict[str, Any]:
        # cloned: a checkpoint held in memory must not keep changing with later EMA updates
        if self.tortoise is None:
            return {"tortoise": None}
        return {"tortoise": {k: v.detach().clone() for k, v in self.tortoise.state_dict().items()}}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        """Rebuild the Tortoise from the (restored) Hare's architecture, then load its weights."""
        self.on_train_start(ctx)
        if state["tortoise"] is not None:
            self._require_tortoise().load_state_dict(state["tortoise"])

    def _require_tortoise(self) -> nn.Module:
        if self.tortoise is None:
            raise RuntimeError("hare_tortoise: on_train_start was not called")
        return self.tortoise
