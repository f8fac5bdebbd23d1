"""Re-initialise all layers or the last k weight layers (Nikishin et al. 2022; SR-SPR resets).

With ``layers: all`` at every task start this is the *fresh* baseline of the warm-start study:
the same architecture trained from a new random initialisation on each chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from plasticlab.interventions._util import copy_module_state, reset_optimizer_state
from plasticlab.interventions.base import TrainContext
from plasticlab.interventions.registry import register
from plasticlab.interventions.schedule import Scheduled
from plasticlab.nets import weight_layers


@register("reset")
@dataclass
class Reset(Scheduled):
    """Copy a fresh initialisation (``ctx.fresh_net()``) into the chosen layers, in place.

    ``layers``: ``"all"`` (every parameter and buffer, BatchNorm statistics included) or k, the
    last k weight layers (Linear/Conv, see ``nets.weight_layers``). Triggered at every task
    start after the first and/or every ``every_steps`` steps. With ``reset_optimizer`` the
    optimiser state of exactly the reset parameters is dropped.
    """

    layers: str | int = "all"
    at_task_start: bool = True
    every_steps: int | None = None
    reset_optimizer: bool = True

    def __post_init__(self) -> None:
        valid_count = isinstance(self.layers, int) and not isinstance(self.layers, bool) and self.layers >= 1
        if not (self.layers == "all" or valid_count):
            raise ValueError(f"reset: layers must be 'all' or a positive integer, got {self.layers!r}")
        self.check_schedule()

    @torch.no_grad()
    def apply(self, ctx: TrainContext) -> None:
        """Reset now (the hooks decide when)."""
        fresh = ctx.fresh_net()
        if self.layers == "all":
            copy_module_state(ctx.net, fresh)
            touched = list(ctx.net.parameters())
        else:
            chosen = weight_layers(ctx.net)
            if self.layers > len(chosen):
                raise ValueError(f"reset: layers={self.layers} but the network has only {len(chosen)} weight layers")
            fresh_modules = dict(fresh.named_modules())
            touched = []
            for name, live in chosen[-self.layers:]:
                copy_module_state(live, fresh_modules[name])
                touched.extend(live.parameters())
        if self.reset_optimizer:
            reset_optimizer_state(ctx.optimizer, touched)
