"""Fully connected classifier: Flatten → (Linear → activation) × depth → Linear head."""

from __future__ import annotations

import math

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "sigmoid": nn.Sigmoid,
}


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise KeyError(f"unknown activation {name!r}; available: {', '.join(sorted(ACTIVATIONS))}") from None


def make_mlp(input_shape: tuple[int, ...], hidden: list[int], n_classes: int, activation_name: str = "relu") -> nn.Sequential:
    """A plain Sequential so architecture interventions (LayerNorm, CReLU) can rewrite it."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(input_shape)
    for size in hidden:
        layers += [nn.Linear(width, size), activation(activation_name)]
        width = size
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)
