"""A minimal training context around a tiny MLP, for testing hooks in isolation."""

from __future__ import annotations

import torch

from plasticlab.interventions import Intervention, TrainContext
from plasticlab.nets import make_mlp

INPUT, HIDDEN, CLASSES = (6,), [8, 8], 3


def make_context(intervention: Intervention, seed: int = 0, lr: float = 1e-2) -> TrainContext:
    torch.manual_seed(seed)

    def fresh() -> torch.nn.Module:
        return intervention.build(make_mlp(INPUT, HIDDEN, CLASSES))

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
