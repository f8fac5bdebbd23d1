"""L2-Init (Kumar et al. 2023): loss + coef·Σ‖θ − θ₀‖², a pull toward the initial weights.

θ₀ is stored for *every* parameter tensor at the start of training (a known pitfall is to
regularise only the last tensor), and checkpointed so a resumed run pulls toward the same θ₀.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from plasticlab.interventions.base import Intervention, TrainContext
from plasticlab.interventions.registry import register


@register("l2_init")
@dataclass
class L2Init(Intervention):
    coef: float = 1e-2
    _initial: list[torch.Tensor] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.coef < 0:
            raise ValueError(f"l2_init: coef must be >= 0, got {self.coef}")

    def on_train_start(self, ctx: TrainContext) -> None:
        self._initial = [p.detach().clone() for p in ctx.net.parameters()]

    def loss(self, ctx: TrainContext, inputs: torch.Tensor) -> torch.Tensor:
        return self.coef * sum(((p - p0) ** 2).sum() for p, p0 in zip(ctx.net.parameters(), self._initial) if p.requires_grad)

    def state_dict(self) -> dict[str, Any]:
        return {"initial": self._initial}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        self._initial = [t.to(p.device) for t, p in zip(state["initial"], ctx.net.parameters())]
