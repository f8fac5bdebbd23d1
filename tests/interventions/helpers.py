"""A minimal training context around a tiny MLP, for testing hooks in isolation."""

from __future__ import annotations

from typing import Callable

import torch

from plasticlab.interventions import Intervention, TrainContext
from plasticlab.nets import make_mlp

INPUT, HIDDEN, CLASSES = (6,), [8, 8], 3


def tiny_mlp() -> torch.nn.Module:
    return make_mlp(INPUT, HIDDEN, CLASSES)


def make_context(intervention: Intervention, seed: int = 0, lr: float = 1e-2,
                 make_net: Callable[[], torch.nn.Module] = tiny_mlp) -> TrainContext:
    """What a trainer sets up: built net, AdamW with the intervention's kwargs, on_train_start."""
    torch.manual_seed(seed)

    def fresh() -> torch.nn.Module:
        return intervention.build(make_net())

    net = fresh()
    optimizer = torch.optim.AdamW(net.parameters(), **intervention.optimizer_kwargs({"lr": lr, "weight_decay": 0.0}))
    ctx = TrainContext(net=net, optimizer=optimizer, fresh_net=fresh)
    intervention.on_train_start(ctx)
    return ctx


def sgd_step(ctx: TrainContext, intervention: Intervention, seed: int) -> None:
    """One real optimiser step on random data, then the after_step hook."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(16, *INPUT, generator=generator)
    y = torch.randint(0, CLASSES, (16,), generator=generator)
    loss = torch.nn.functional.cross_entropy(ctx.net(x), y)
    ctx.optimizer.zero_grad()
    loss.backward()
    ctx.optimizer.step()
    ctx.step += 1
    intervention.after_step(ctx)


def snapshot(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def bn_mlp() -> torch.nn.Module:
    """A tiny net with BatchNorm: floating running statistics and an integer step counter."""
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(INPUT[0], 8), torch.nn.BatchNorm1d(8),
                               torch.nn.ReLU(), torch.nn.Linear(8, CLASSES))
