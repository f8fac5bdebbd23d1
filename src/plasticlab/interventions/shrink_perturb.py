"""Shrink & perturb (Ash & Adams 2020): θ ← λθ + σ·noise at every new chunk of data.

The literature uses three noise forms; ``noise`` selects one (default: ``fresh_init``, the
original paper's):

* ``fresh_init``: θ ← λθ + σ·θ_fresh, θ_fresh a new initialisation of the same architecture;
* ``gaussian``:   θ ← λθ + σ·ε, ε ~ N(0, 1);
* ``initial``:    θ ← λθ + (1 − λ)·θ₀ + σ·ε, a pull toward the stored initial weights θ₀.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from plasticlab.interventions.base import TrainContext
from plasticlab.interventions.registry import register
from plasticlab.interventions.schedule import Scheduled

NOISE_MODES = ("fresh_init", "gaussian", "initial")


@register("shrink_perturb")
@dataclass
class ShrinkPerturb(Scheduled):
    """Shrink every parameter toward zero and add noise, at task starts after the first and/or
    every ``every_steps`` steps. Buffers (BatchNorm statistics) are left alone.

    Noise is drawn on the CPU from torch's global generator (checkpointed by the runtime), so a
    run draws the same noise on any device and a resumed run repeats it.
    """

    shrink: float = 0.4
    perturb: float = 0.1
    noise: str = "fresh_init"
    at_task_start: bool = True
    every_steps: int | None = None
    _initial: list[torch.Tensor] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.shrink <= 1.0:  # also rejects NaN
            raise ValueError(f"shrink_perturb: shrink must be in [0, 1], got {self.shrink}")
        if not self.perturb >= 0.0:
            raise ValueError(f"shrink_perturb: perturb must be >= 0, got {self.perturb}")
        if self.noise not in NOISE_MODES:
            raise ValueError(f"shrink_perturb: noise must be one of {', '.join(NOISE_MODES)}, got {self.noise!r}")
        self.check_schedule()

    def on_train_start(self, ctx: TrainContext) -> None:
        if self.noise == "initial":
            self._initial = [p.detach().clone() for p in ctx.net.parameters()]

    @torch.no_grad()
    def apply(self, ctx: TrainContext) -> None:
        """Shrink and perturb now (the hooks decide when)."""
        params = list(ctx.net.parameters())
        if self.noise == "fresh_init":
            for param, fresh in zip(params, ctx.fresh_net().parameters(), strict=True):
                param.mul_(self.shrink).add_(fresh.to(param.device), alpha=self.perturb)
            return
        if self.noise == "initial" and len(self._initial) != len(params):
            raise RuntimeError("shrink_perturb: no initial weights stored; on_train_start was not called")
        for index, param in enumerate(params):
            noise = torch.randn(param.shape, dtype=param.dtype).to(param.device)
            param.mul_(self.shrink).add_(noise, alpha=self.perturb)
            if self.noise == "initial":
                param.add_(self._initial[index], alpha=1.0 - self.shrink)

    def state_dict(self) -> dict[str, Any]:
        return {"initial": self._initial}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        self._initial = [t.to(p.device) for t, p in zip(state["initial"], ctx.net.parameters())]
