"""Plasticity injection (Nikishin et al. 2023).

At the injection point the head h_θ (the last ``head_layers`` weight layers) is frozen and a new
head h_θ′₁ (trainable, fresh initialisation) and its frozen copy h_θ′₂ are added:

    output = h_θ(z) + h_θ′₁(z) − h_θ′₂(z),    z = encoder(x)

At the moment of injection θ′₁ = θ′₂, so predictions are unchanged; the trainable parameter count
is unchanged too (θ is frozen, θ′₁ takes its place). The encoder keeps training, the optimiser
state is kept. The new heads exist from the start (so the optimiser owns them) but are unused and
frozen until injection; whether injection happened is a buffer, so checkpoints restore it.

A noisy head (Rainbow, DER) draws fresh noise in every training pass: the frozen copy reuses the
noise the new head just drew (:func:`plasticlab.nets.noisy.shared_noise`), so h_θ′₁ − h_θ′₂ is
exactly zero at injection in training mode too, not a difference of two independent draws.
Plasticity diagnostics measure :meth:`InjectableNet.trainable_path` (the encoder and the head
being trained), never the frozen copies.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from plasticlab.interventions.base import Intervention, TrainContext
from plasticlab.interventions.registry import register
from plasticlab.nets.noisy import shared_noise


class InjectableNet(nn.Module):
    """A Sequential split into encoder and head, with room for an injected head."""

    def __init__(self, net: nn.Sequential, head_layers: int):
        super().__init__()
        # a top-level module counts as a layer if it is or holds weight layers (e.g. a dueling head)
        weight_positions = [i for i, m in enumerate(net)
                            if any(isinstance(sub, (nn.Linear, nn.Conv2d)) for sub in m.modules())]
        if len(weight_positions) < head_layers + 1:
            raise ValueError(f"plasticity_injection: head_layers={head_layers} leaves no encoder")
        split = weight_positions[-head_layers]
        self.encoder = nn.Sequential(*list(net)[:split])
        self.head = nn.Sequential(*list(net)[split:])
        self.new_head = copy.deepcopy(self.head)
        for module in self.new_head.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self.frozen_new_head = copy.deepcopy(self.new_head)
        for param in [*self.new_head.parameters(), *self.frozen_new_head.parameters()]:
            param.requires_grad_(False)
        self.register_buffer("injected", torch.tensor(False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        out = self.head(z)
        if bool(self.injected):
            fresh = self.new_head(z)
            with shared_noise(self.new_head, self.frozen_new_head):
                frozen = self.frozen_new_head(z)
            out = out + (fresh - frozen)  # exactly `out` while θ′₁ = θ′₂
        return out

    def trainable_path(self) -> nn.Sequential:
        """The layers a forward pass trains, in order: the encoder, then the head (before
        injection) or the new head (after). A view over the live modules (no copy), with the same
        layer positions before and after injection, for diagnostics such as dormant units."""
        head = self.new_head if bool(self.injected) else self.head
        return nn.Sequential(*self.encoder, *head)

    @torch.no_grad()
    def inject(self) -> None:
        self.frozen_new_head.load_state_dict(self.new_head.state_dict())
        for param in self.head.parameters():
            param.requires_grad_(False)
        for param in self.new_head.parameters():
            param.requires_grad_(True)
        self.injected.fill_(True)

    def restore_flags(self) -> None:
        """requires_grad flags are not in state dicts: re-derive them from the buffer."""
        if bool(self.injected):
            for param in self.head.parameters():
                param.requires_grad_(False)
            for param in self.new_head.parameters():
                param.requires_grad_(True)


@register("plasticity_injection")
@dataclass
class PlasticityInjection(Intervention):
    at_step: int | None = None
    at_task: int | None = None  # with neither given: at the start of task 1 (the first change)
    head_layers: int = 1

    def __post_init__(self) -> None:
        if self.at_step is not None and self.at_task is not None:
            raise ValueError("plasticity_injection: give exactly one of at_step and at_task")
        if self.at_step is None and self.at_task is None:
            self.at_task = 1
        if self.head_layers < 1:
            raise ValueError(f"plasticity_injection: head_layers must be >= 1, got {self.head_layers}")

    def build(self, net: nn.Module) -> nn.Module:
        if not isinstance(net, nn.Sequential):
            raise ValueError("plasticity_injection needs a Sequential network (encoder layers then head layers)")
        return InjectableNet(net, self.head_layers)

    def after_step(self, ctx: TrainContext) -> None:
        if self.at_step is not None and ctx.step == self.at_step:
            ctx.net.inject()

    def on_task_start(self, ctx: TrainContext, task: int) -> None:
        if self.at_task is not None and task == self.at_task:
            ctx.net.inject()

    def load_state_dict(self, state: dict, ctx: TrainContext) -> None:
        ctx.net.restore_flags()
