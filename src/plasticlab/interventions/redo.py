"""ReDo (Sokar et al. 2023): recycle dormant neurons.

A hidden unit's score is its mean |activation| on a batch divided by the layer's mean score; a
unit with score ≤ τ is dormant. Recycling re-initialises its incoming weights (row of the layer
before, from a fresh initialisation), zeroes its outgoing weights (column of the next Linear, so
the network's output is unchanged at the moment of recycling), and zeroes Adam's moments for
exactly those entries. Scores use the most recent training batch the loss hook saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from plasticlab.interventions.base import Intervention, TrainContext
from plasticlab.interventions.registry import register
from plasticlab.nets.mlp import ACTIVATIONS

_ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


def hidden_units(net: nn.Module) -> list[tuple[nn.Linear, nn.Module, nn.Linear]]:
    """(incoming Linear, activation, outgoing Linear) for each hidden layer of every Sequential."""
    triples = []
    for sequential in (m for m in net.modules() if isinstance(m, nn.Sequential)):
        layers = list(sequential)
        for i, layer in enumerate(layers):
            if not isinstance(layer, nn.Linear):
                continue
            act = next((j for j in range(i + 1, len(layers)) if isinstance(layers[j], _ACTIVATION_TYPES)), None)
            if act is None or any(isinstance(m, nn.Linear) for m in layers[i + 1 : act]):
                continue
            out = next((k for k in range(act + 1, len(layers)) if isinstance(layers[k], nn.Linear)), None)
            if out is not None and layers[out].in_features == layer.out_features:
                triples.append((layer, layers[act], layers[out]))
    return triples


@torch.no_grad()
def unit_scores(net: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
    """ReDo score of every unit of every hidden layer (order of :func:`hidden_units`)."""
    triples = hidden_units(net)
    captured: dict[int, torch.Tensor] = {}
    hooks = [act.register_forward_hook(lambda m, a, out, i=i: captured.__setitem__(i, out))
             for i, (_, act, _) in enumerate(triples)]
    was_training = net.training
    net.eval()
    try:
        net(inputs)
    finally:
        net.train(was_training)
        for hook in hooks:
            hook.remove()
    scores = []
    for i in range(len(triples)):
        activity = captured[i].abs().flatten(0, -2).mean(dim=0)
        scores.append(activity / (activity.mean() + 1e-12))
    return scores


def _zero_adam_entries(optimizer: torch.optim.Optimizer, param: torch.Tensor, index: tuple) -> None:
    state = optimizer.state.get(param)
    if not state:
        return
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        if key in state:
            state[key][index] = 0.0


@register("redo")
@dataclass
class ReDo(Intervention):
    tau: float = 0.1
    every_steps: int | None = 1000
    at_task_start: bool = False
    _inputs: torch.Tensor | None = field(default=None, init=False, repr=False)
    recycled: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.tau < 0:
            raise ValueError(f"redo: tau must be >= 0, got {self.tau}")
        if self.every_steps is not None and self.every_steps < 1:
            raise ValueError(f"redo: every_steps must be positive, got {self.every_steps}")

    def loss(self, ctx: TrainContext, inputs: torch.Tensor) -> None:
        self._inputs = inputs.detach()
        return None

    def after_step(self, ctx: TrainContext) -> None:
        if self.every_steps is not None and ctx.step % self.every_steps == 0 and self._inputs is not None:
            self.apply(ctx, self._inputs)

    def on_task_start(self, ctx: TrainContext, task: int) -> None:
        if self.at_task_start and task > 0 and self._inputs is not None:
            self.apply(ctx, self._inputs)

    @torch.no_grad()
    def apply(self, ctx: TrainContext, inputs: torch.Tensor) -> int:
        """Recycle the dormant units of ``ctx.net`` on ``inputs``; return how many."""
        scores = unit_scores(ctx.net, inputs)
        names = {id(m): n for n, m in ctx.net.named_modules()}
        fresh = dict(ctx.fresh_net().named_modules())
        layers = [(incoming, outgoing, torch.nonzero(score <= self.tau).flatten())
                  for (incoming, _, outgoing), score in zip(hidden_units(ctx.net), scores)]
        # Two passes: every in-weight reset first, then every out-weight zeroed, so a recycled
        # unit's outgoing weights are zero even where the next layer's rows were re-initialised.
        for incoming, _, dormant in layers:
            if dormant.numel() == 0:
                continue
            new = fresh[names[id(incoming)]]
            incoming.weight[dormant] = new.weight[dormant].to(incoming.weight.device)
            _zero_adam_entries(ctx.optimizer, incoming.weight, (dormant,))
            if incoming.bias is not None:
                incoming.bias[dormant] = new.bias[dormant].to(incoming.bias.device)
                _zero_adam_entries(ctx.optimizer, incoming.bias, (dormant,))
        for _, outgoing, dormant in layers:
            outgoing.weight[:, dormant] = 0.0
            _zero_adam_entries(ctx.optimizer, outgoing.weight, (slice(None), dormant))
        count = sum(int(dormant.numel()) for _, _, dormant in layers)
        self.recycled += count
        return count
