"""Value networks for the agents: flat ``nn.Sequential`` torsos with a Q head.

Flat on purpose, like the MLPs: LayerNorm insertion, resets of the last k layers, plasticity
injection and Soft MoE all rewrite or split the Sequential by position, so they work on every
agent without the agent knowing. Inputs are uint8 frame stacks; the first module converts to
float (and scales Atari pixels to [0, 1]), so the replay and the acting loop move bytes, not floats.

Output: ``(B, n_actions)`` Q-values, or ``(B, n_actions · atoms)`` logits for a distributional
head (the agent reshapes).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from plasticlab.nets.noisy import NoisyLinear


class ToFloat(nn.Module):
    """uint8 → float32, times ``scale`` (1/255 for pixels, 1 for MinAtar's 0/1 channels)."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float() * self.scale if self.scale != 1.0 else x.float()

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class DuelingHead(nn.Module):
    """Dueling streams (Wang et al. 2016), optionally noisy and distributional.

    ``Q(s, a) = V(s) + A(s, a) − mean_a A(s, a)``, per atom for a distributional head (the
    logits are combined before the softmax, as in Rainbow). Output flattened to (B, A·atoms).
    """

    def __init__(self, in_features: int, n_actions: int, atoms: int = 1, hidden: int = 256, noisy: bool = True,
                 sigma0: float = 0.1):
        super().__init__()
        self.in_features, self.n_actions, self.atoms = in_features, n_actions, atoms

        def linear(n_in: int, n_out: int) -> nn.Linear:
            return NoisyLinear(n_in, n_out, sigma0) if noisy else nn.Linear(n_in, n_out)

        self.value = nn.Sequential(linear(in_features, hidden), nn.ReLU(), linear(hidden, atoms))
        self.advantage = nn.Sequential(linear(in_features, hidden), nn.ReLU(), linear(hidden, n_actions * atoms))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        value = self.value(z).view(-1, 1, self.atoms)
        advantage = self.advantage(z).view(-1, self.n_actions, self.atoms)
        return (value + advantage - advantage.mean(dim=1, keepdim=True)).flatten(1)


# Convolutional torsos by name: (out_channels, kernel, stride) per layer, 'valid' padding.
TORSOS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "nature": ((32, 8, 4), (64, 4, 2), (64, 3, 1)),  # Mnih et al. 2015: 7×7×64 on 84×84
    "der": ((32, 5, 5), (64, 5, 5)),                  # van Hasselt et al. 2019 (DER): 3×3×64 on 84×84
    "minatar": ((16, 3, 1),),                         # Young & Tian 2019: 8×8×16 on 10×10
}
HEADS = ("linear", "dueling")


def _conv_torso(in_channels: int, layers: Sequence[tuple[int, int, int]]) -> list[nn.Module]:
    modules: list[nn.Module] = []
    for out_channels, kernel, stride in layers:
        modules += [nn.Conv2d(in_channels, out_channels, kernel, stride), nn.ReLU()]
        in_channels = out_channels
    return modules


def _flat_size(modules: list[nn.Module], input_shape: tuple[int, ...]) -> int:
    with torch.no_grad():
        return int(nn.Sequential(*modules)(torch.zeros(1, *input_shape, dtype=torch.uint8)).numel())


def q_network(input_shape: tuple[int, ...], n_actions: int, torso: str = "nature", hidden: int = 512,
              head: str = "linear", atoms: int = 1, noisy: bool = False, sigma0: float = 0.1,
              pixel_scale: float = 1 / 255) -> nn.Sequential:
    """ToFloat → conv torso → Flatten → Dense(hidden) → ReLU → Q head, or → dueling streams.

    Presets: DQN (Nature) = torso nature, hidden 512, linear head; MinAtar DQN = torso minatar,
    hidden 128, pixel_scale 1; DER = torso der, hidden 256, dueling, noisy, 51 atoms.
    Output width ``n_actions · atoms``.
    """
    if torso not in TORSOS:
        raise KeyError(f"unknown torso {torso!r}; available: {', '.join(sorted(TORSOS))}")
    if head not in HEADS:
        raise KeyError(f"unknown head {head!r}; available: {', '.join(HEADS)}")
    layers = [ToFloat(pixel_scale), *_conv_torso(input_shape[0], TORSOS[torso]), nn.Flatten()]
    flat = _flat_size(layers, input_shape)
    if head == "dueling":
        return nn.Sequential(*layers, DuelingHead(flat, n_actions, atoms, hidden, noisy, sigma0))
    linear = (lambda i, o: NoisyLinear(i, o, sigma0)) if noisy else nn.Linear
    return nn.Sequential(*layers, linear(flat, hidden), nn.ReLU(), linear(hidden, n_actions * atoms))
