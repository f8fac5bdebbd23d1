"""Re-initialise all layers or the last k weight layers (Nikishin et al. 2022; SR-SPR resets).

With ``layers: all`` at every task start this is the *fresh* baseline of the warm-start study:
the same architecture trained from a new random initialisation on each chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from plasticlab.interventions._util import reset_optimizer_state
from plasticlab.interventions.base import Intervention, TrainContext
from plasticlab.interventions.registry import register
from plasticlab.nets import weight_layers


@register("reset")
@dataclass
class Reset(Intervention):
    layers: str | int = "all"
    at_task_start: bool = True
    every_steps: int | None = None
    reset_optimizer: bool = True

    def __post_init__(self) -> None:
        if not (self.layers == "all" or (isinstance(self.layers, int) and self.layers >= 1)):
            raise ValueError(f"reset: layers must be 'all' or a positive integer, got {self.layers!r}")
        if self.every_steps is not None and self.every_steps < 1:
            raise ValueError(f"reset: every_steps must be positive, got {self.every_steps}")

    def on_task_start(self, ctx: TrainContext, task: int) -> None:
        if self.at_task_start and task > 0:
            self.apply(ctx)

    def after_step(self, ctx: TrainContext) -> None:
        if self.every_steps is not None and ctx.step % self.every_steps == 0:
            self.apply(ctx)

    @torch.no_grad()
    def apply(self, ctx: TrainContext) -> None:
        fresh = dict(ctx.fresh_net().named_modules())
        if self.layers == "all":
            names = [name for name, module in ctx.net.named_modules() if list(module.parameters(recurse=False)) or list(module.buffers(recurse=False))]
        else:
            names = [name for name, _ in weight_layers(ctx.net)[-int(self.layers):]]
        modules = dict(ctx.net.named_modules())
        touched: list[torch.Tensor] = []
        for name in names:
            live, new = modules[name], fresh[name]
            for (_, dst), (_, src) in zip(live.named_parameters(recurse=False), new.named_parameters(recurse=False)):
                dst.copy_(src)
                touched.append(dst)
            if self.layers == "all":
                for (_, dst), (_, src) in zip(live.named_buffers(recurse=False), new.named_buffers(recurse=False)):
                    dst.copy_(src)
        if self.reset_optimizer:
            reset_optimizer_state(ctx.optimizer, touched)
