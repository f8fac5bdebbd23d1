"""InFeR (Lyle et al. 2022, "Understanding and preventing capacity loss in reinforcement learning").

``k`` auxiliary linear heads g(x; θ) read the penultimate features and regress the scaled
outputs β·g(x; θ₀) that the same heads gave at initialisation (a frozen copy of the initial
network supplies them). The regulariser is the paper's squared Euclidean norm over the heads,
averaged over the batch and weighted by α:

    L_InFeR = α · E_x ‖g(x; θ) − β·g(x; θ₀)‖²  =  α · mean_x Σ_{i=1..k} (g_i(x; θ) − β·g_i(x; θ₀))²

so it is *summed* over heads: averaging over them instead would divide the effective α by k.
Keeping those random projections predictable preserves the feature rank, and with it the
network's capacity to fit new targets.
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = list(self.body)
        for layer in layers[:-1]:
            x = layer(x)
        self.features = x
        return layers[-1](x)

    def auxiliary(self, x: torch.Tensor | None = None) -> torch.Tensor:
        if x is not None:
            self(x)
        return self.aux(self.features)


def infer_loss(prediction: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """α · batch mean of the squared norm over heads (last axis). A leading member axis (stacked
    seeds) is summed, so each member gets exactly its own gradient."""
    return alpha * ((prediction - target) ** 2).sum(dim=-1).mean(dim=-1).sum()


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
        return infer_loss(ctx.net.aux(ctx.net.features), target, self.alpha)

    def state_dict(self) -> dict[str, Any]:
        return {"initial": self._initial.state_dict() if self._initial is not None else None}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        self.on_train_start(ctx)
        if state["initial"] is not None:
            self._initial.load_state_dict(state["initial"])
