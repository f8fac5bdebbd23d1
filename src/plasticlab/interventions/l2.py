"""Coupled L2 regularisation: loss + coef·Σ‖θ‖² (goes through Adam's preconditioning, unlike
decoupled ``weight_decay``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from plasticlab.interventions.base import Intervention, TrainContext
from plasticlab.interventions.registry import register


@register("l2")
@dataclass
class L2(Intervention):
    coef: float = 1e-4

    def __post_init__(self) -> None:
        if self.coef < 0:
            raise ValueError(f"l2: coef must be >= 0, got {self.coef}")

    def loss(self, ctx: TrainContext, inputs: torch.Tensor) -> torch.Tensor:
        return self.coef * sum((p * p).sum() for p in ctx.net.parameters() if p.requires_grad)
