"""InFeR (Lyle et al. 2022, "Understanding and preventing capacity loss in RL").

``k`` auxiliary linear heads read the penultimate features and regress, with weight α, the
scaled outputs β·g₀(x) that the same heads gave at initialisation (a frozen copy of the initial
network supplies them). Keeping those random projections predictable preserves the feature
rank, and with it the network's capacity to fit new targets.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from plasticlab.interventions.base import Intervention, TrainContext
from plasticlab.interventions.registry import register


class WithAuxiliaryHeads(nn.Module):
    """Wraps a Sequential; remembers the penultimate features of the last forward pass.

    The auxiliary head is registered *before* the body so that "the last weight layer" of the
    network (what a last-layer reset touches) stays the main head.
    """

    def __init__(self, body: nn.Sequential, heads: int):
        super().__init__()
        last = body[-1]
        if not isinstance(last, nn.Linear):
            raise ValueError("infer needs a Sequential whose last module is the Linear output head")
        self.aux = nn.Linear(last.in_features, heads)
        self.body = body
        self.features: torch.Tensor | None = None
        last.register_forward_pre_hook(self._remember)

    def _remember(self, module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        self.features = args[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def auxiliary(self, x: torch.Tensor | None = None) -> torch.Tensor:
        if x is not None:
            self.body(x)
        return self.aux(self.features)


@register("infer")
@dataclass
class InFeR(Intervention):
    heads: int = 10
    alpha: float = 0.1
    beta: float = 10.0
    _initial: WithAuxiliaryHeads | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.heads < 1 or self.alpha < 0:
            raise ValueError(f"infer: need heads >= 1 and alpha >= 0, got heads={self.heads}, alpha={self.alpha}")

    def build(self, net: nn.Module) -> nn.Module:
        if not isinstance(net, nn.Sequential):
            raise ValueError("infer needs a Sequential network")
        return WithAuxiliaryHeads(net, self.heads)

    def on_train_start(self, ctx: TrainContext) -> None:
        self._initial = copy.deepcopy(ctx.net)
        for param in self._initial.parameters():
            param.requires_grad_(False)

    def loss(self, ctx: TrainContext, inputs: torch.Tensor) -> torch.Tensor:
        """Uses the features of the forward pass the trainer just made on ``inputs``."""
        with torch.no_grad():
            target = self.beta * self._initial.auxiliary(inputs)
        prediction = ctx.net.aux(ctx.net.features)
        return self.alpha * ((prediction - target) ** 2).mean()

    def state_dict(self) -> dict[str, Any]:
        return {"initial": self._initial.state_dict() if self._initial is not None else None}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        self.on_train_start(ctx)
        if state["initial"] is not None:
            self._initial.load_state_dict(state["initial"])
