"""When a one-off operation (reset, shrink & perturb) fires: at task boundaries and/or every N steps."""

from __future__ import annotations

from plasticlab.interventions.base import Intervention, TrainContext


class Scheduled(Intervention):
    """Calls :meth:`apply` at the start of every task after the first (if ``at_task_start``) and
    after every ``every_steps``-th optimiser step (if set). Subclasses are dataclasses declaring
    both fields and implementing ``apply``."""

    at_task_start: bool
    every_steps: int | None

    def check_schedule(self) -> None:
        if self.every_steps is not None and self.every_steps < 1:
            raise ValueError(f"{self.name}: every_steps must be positive, got {self.every_steps}")

    def on_task_start(self, ctx: TrainContext, task: int) -> None:
        if self.at_task_start and task > 0:
            self.apply(ctx)

    def after_step(self, ctx: TrainContext) -> None:
        if self.every_steps is not None and ctx.step % self.every_steps == 0:
            self.apply(ctx)

    def apply(self, ctx: TrainContext) -> None:
        raise NotImplementedError
