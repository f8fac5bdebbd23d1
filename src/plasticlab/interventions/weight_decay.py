"""Decoupled weight decay (Loshchilov & Hutter 2019): θ ← θ − lr·λ·θ outside the Adam update.

The trainers always use AdamW, so this only sets its ``weight_decay``; one of the two halves of
the LayerNorm + weight decay combination of Lyle et al. 2024.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plasticlab.interventions.base import Intervention
from plasticlab.interventions.registry import register


@register("weight_decay")
@dataclass
class WeightDecay(Intervention):
    """AdamW's ``weight_decay = coef``: each step multiplies every parameter by (1 − lr·coef)
    before the Adam update, independent of the gradient statistics."""

    coef: float = 1e-4

    def __post_init__(self) -> None:
        if not self.coef >= 0:  # also rejects NaN
            raise ValueError(f"weight_decay: coef must be >= 0, got {self.coef}")

    def optimizer_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**kwargs, "weight_decay": self.coef}
