"""Agent layers of stacked seeds: noisy layers, each member drawing its noise from its own
generator, and plasticity injection's network.

A solo run's noisy layers draw ε from torch's global generator at every training-mode forward
pass, in layer order (ε_in, then ε_out). Stacked, member m draws the same numbers from a generator
holding its solo run's state (:class:`MemberNoise`), in the same order, and only in the passes its
solo run makes: when a member explores (ε-greedy) its solo run skips the acting forward pass, so
the stack skips its draws (its noise is zero, and the output unused). The arithmetic is the solo
layer's, per member: ``μx + ε_out ⊙ (σ (ε_in ⊙ x)) + σ_b ⊙ ε_out`` with exact batched products
(``supervised.stacking.stacked_linear``).
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from plasticlab.interventions.plasticity_injection import InjectableNet
from plasticlab.nets.noisy import NoisyLinear, _signed_sqrt, noisy_layers
from plasticlab.supervised.stacking import (NotStackable, StackedLinear, _stack_parameter, stack_modules,
                                            stacked_linear)


class MemberNoise:
    """The members' generators and which members draw in the next passes (all by default)."""

    def __init__(self, generators: Sequence[torch.Generator]):
        self.generators = list(generators)
        self.drawing = [True] * len(self.generators)

    def draw(self, size: int, like: torch.Tensor) -> torch.Tensor:
        """f(ε) per member, (S, size); zeros for members not drawing."""
        rows = [_signed_sqrt(torch.randn(size, generator=generator, dtype=like.dtype)) if drawing
                else torch.zeros(size, dtype=like.dtype)
                for generator, drawing in zip(self.generators, self.drawing)]
        return torch.stack(rows).to(like.device)


class StackedNoisyLinear(StackedLinear):
    """S noisy linear layers of one shape; input (S, B, in) → output (S, B, out)."""

    draws_member_noise = True

    def __init__(self, layers: list[NoisyLinear]):
        super().__init__(layers)
        self.sigma0 = layers[0].sigma0
        self.weight_sigma = _stack_parameter([layer.weight_sigma for layer in layers])
        self.bias_sigma = _stack_parameter([layer.bias_sigma for layer in layers])
        object.__setattr__(self, "noise", None)  # a MemberNoise, set by the stacked agent

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = stacked_linear(x, self.weight, self.bias)
        if not self.training:
            return mean
        if self.noise is None:
            raise RuntimeError("a stacked noisy layer in training mode needs its members' generators (MemberNoise)")
        eps_in = self.noise.draw(self.in_features, x)[:, None, :]
        eps_out = self.noise.draw(self.out_features, x)[:, None, :]
        out = mean + eps_out * stacked_linear(x * eps_in, self.weight_sigma, None)
        if self.bias_sigma is not None:
            out = out + self.bias_sigma[:, None, :] * eps_out
        return out


def attach_noise(module: nn.Module, noise: MemberNoise) -> None:
    """Give every stacked layer that draws noise (``draws_member_noise``) the members' generators."""
    for layer in module.modules():
        if getattr(layer, "draws_member_noise", False):
            object.__setattr__(layer, "noise", noise)


def attach_layout(module: nn.Module, memory_format: torch.memory_format) -> None:
    """Tell the stacked layers that compute in the solo network's memory format (convolutions,
    group norm, the MoE block: each has a ``memory_format``) which format that is."""
    for layer in module.modules():
        if hasattr(layer, "memory_format"):
            layer.memory_format = memory_format


def stack_injectable(nets: list[InjectableNet]) -> InjectableNet:
    """Plasticity injection's network over stacked members: every part stacked, one ``injected``
    flag for all (members update in lock step, so they inject at the same update), and each part's
    frozen or trainable state as the members' (copied by ``_stack_parameter``)."""
    if noisy_layers(nets[0]):
        raise NotStackable("plasticity injection into a noisy head shares noise between copies; not stacked")
    stacked = copy.deepcopy(nets[0])
    stacked._modules = {name: stack_modules([net._modules[name] for net in nets]) for name in nets[0]._modules}
    return stacked


# registered by ``agents.members``
STACKERS = {NoisyLinear: StackedNoisyLinear, InjectableNet: stack_injectable}
