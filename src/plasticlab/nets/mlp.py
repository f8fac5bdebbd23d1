"""Fully connected classifier: Flatten → (Linear → activation) × depth → Linear head."""

from __future__ import annotations

import math
from typing import Sequence

from torch import nn

# Name → activation class. Architecture interventions (layernorm, redo) recognise hidden layers
# by these types, so a new activation belongs here rather than inline in a network.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "sigmoid": nn.Sigmoid,
}


def make_activation(name: str) -> nn.Module:
    """A new activation module by config name; an unknown name lists the available ones."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise KeyError(f"unknown activation {name!r}; available: {', '.join(sorted(ACTIVATIONS))}") from None


def make_mlp(input_shape: tuple[int, ...], hidden: Sequence[int], n_classes: int, activation: str = "relu") -> nn.Sequential:
    """Flatten, ``Linear → activation`` per hidden width, then a Linear head.

    A plain, flat Sequential on purpose: architecture interventions (LayerNorm, CReLU) rewrite it
    by position, and "the last k layers" of a reset are its last Linear modules.
    """
    make_activation(activation)  # fail on a bad name before building anything
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(input_shape)
    for size in hidden:
        layers += [nn.Linear(width, int(size)), make_activation(activation)]
        width = int(size)
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)
