"""Value networks for the agents: flat ``nn.Sequential`` torsos with a Q head.

Flat on purpose, like the MLPs: LayerNorm insertion, resets of the last k layers, plasticity
injection and Soft MoE all rewrite or split the Sequential by position, so they work on every
agent without the agent knowing. Inputs are uint8 frame stacks; the first module converts to
float (and scales Atari pixels to [0, 1]), so the replay and the acting loop move bytes, not floats.

Heads (``head``):

- ``linear``: Flatten → Dense(hidden) → ReLU → Dense(A·atoms) (DQN; Mnih et al. 2015).
- ``dueling``: Flatten → value and advantage streams of ``hidden`` units each, read straight from
  the conv features (DER; van Hasselt et al. 2019, after Wang et al. 2016).
- ``dense_dueling``: Flatten → Dense(hidden) → ReLU → one-layer value and advantage streams
  (Dopamine's full Rainbow network, ``dopamine/jax/networks.py`` ``FullRainbowNetwork``, which
  the DER agents of Dopamine's ``labs/atari_100k`` and ``labs/moes`` use).

``padding``: ``valid`` (PyTorch's default: 7×7 Nature maps on 84×84) or ``same`` (Flax/TF: an
output of ⌈in/stride⌉, padded asymmetrically like XLA, 11×11 Nature maps on 84×84, as Dopamine's
JAX networks). ``init``: ``torch`` (PyTorch's defaults, as MinAtar's reference DQN) or
``xavier_uniform`` (Dopamine's JAX layers: Glorot-uniform kernels, zero biases; noisy layers keep
their own initialisation).

Output: ``(B, n_actions)`` Q-values, or ``(B, n_actions · atoms)`` logits for a distributional
head (the agent reshapes).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
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


class SamePad2d(nn.Module):
    """Zero padding that makes a following (kernel, stride) convolution give ⌈in/stride⌉ outputs,
    split as XLA's ``SAME`` does (the extra row/column goes at the bottom/right)."""

    def __init__(self, kernel: int, stride: int):
        super().__init__()
        self.kernel, self.stride = int(kernel), int(stride)

    def amounts(self, size: int) -> tuple[int, int]:
        out = math.ceil(size / self.stride)
        total = max((out - 1) * self.stride + self.kernel - size, 0)
        return total // 2, total - total // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = self.amounts(x.shape[-2])
        left, right = self.amounts(x.shape[-1])
        return F.pad(x, (left, right, top, bottom)) if top or bottom or left or right else x

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}"


class DuelingHead(nn.Module):
    """Dueling streams (Wang et al. 2016), optionally noisy and distributional.

    ``Q(s, a) = V(s) + A(s, a) − mean_a A(s, a)``, per atom for a distributional head (the
    logits are combined before the softmax, as in Rainbow). Each stream is Dense(hidden) → ReLU →
    Dense(out) with ``hidden`` units, or one Dense(out) layer with ``hidden=None``. Output
    flattened to (B, A·atoms).
    """

    def __init__(self, in_features: int, n_actions: int, atoms: int = 1, hidden: int | None = 256, noisy: bool = True,
                 sigma0: float = 0.1):
        super().__init__()
        self.in_features, self.n_actions, self.atoms = in_features, n_actions, atoms
        self.hidden, self.noisy, self.sigma0 = hidden, noisy, sigma0

        def linear(n_in: int, n_out: int) -> nn.Linear:
            return NoisyLinear(n_in, n_out, sigma0) if noisy else nn.Linear(n_in, n_out)

        def stream(n_out: int) -> nn.Sequential:
            if hidden is None:
                return nn.Sequential(linear(in_features, n_out))
            return nn.Sequential(linear(in_features, hidden), nn.ReLU(), linear(hidden, n_out))

        self.value = stream(atoms)
        self.advantage = stream(n_actions * atoms)

    def with_input(self, in_features: int) -> "DuelingHead":
        """A freshly initialised head of the same kind reading ``in_features`` inputs."""
        return DuelingHead(in_features, self.n_actions, self.atoms, self.hidden, self.noisy, self.sigma0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # leading axes kept as they come: (B, F) → (B, A·atoms), and stacked seeds' (S, B, F) → (S, B, A·atoms)
        lead = z.shape[:-1]
        value = self.value(z).view(*lead, 1, self.atoms)
        advantage = self.advantage(z).view(*lead, self.n_actions, self.atoms)
        return (value + advantage - advantage.mean(dim=-2, keepdim=True)).flatten(-2)


# Convolutional torsos by name: (out_channels, kernel, stride) per layer.
TORSOS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "nature": ((32, 8, 4), (64, 4, 2), (64, 3, 1)),  # Mnih et al. 2015: 7×7×64 ('valid') or 11×11×64 ('same') on 84×84
    "der": ((32, 5, 5), (64, 5, 5)),                  # van Hasselt et al. 2019 (DER): 3×3×64 on 84×84
    "minatar": ((16, 3, 1),),                         # Young & Tian 2019: 8×8×16 ('valid') on 10×10
}
HEADS = ("linear", "dueling", "dense_dueling")
PADDINGS = ("valid", "same")
INITS = ("torch", "xavier_uniform")


def _conv_torso(in_channels: int, layers: Sequence[tuple[int, int, int]], padding: str) -> list[nn.Module]:
    modules: list[nn.Module] = []
    for out_channels, kernel, stride in layers:
        if padding == "same":
            modules.append(SamePad2d(kernel, stride))
        modules += [nn.Conv2d(in_channels, out_channels, kernel, stride), nn.ReLU()]
        in_channels = out_channels
    return modules


def _flat_size(modules: list[nn.Module], input_shape: tuple[int, ...]) -> int:
    with torch.no_grad():
        return int(nn.Sequential(*modules)(torch.zeros(1, *input_shape, dtype=torch.uint8)).numel())


@torch.no_grad()
def xavier_uniform_init(net: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every plain Linear/Conv2d (Flax's
    ``xavier_uniform`` and default zero bias, as Dopamine's networks); noisy layers untouched."""
    for module in net.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)) and not isinstance(module, NoisyLinear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net


def q_network(input_shape: tuple[int, ...], n_actions: int, torso: str = "nature", hidden: int = 512,
              head: str = "linear", atoms: int = 1, noisy: bool = False, sigma0: float = 0.1,
              pixel_scale: float = 1 / 255, padding: str = "valid", init: str = "torch") -> nn.Sequential:
    """ToFloat → conv torso → Flatten → the head (see the module docstring).

    Presets: DQN (Nature) = torso nature, hidden 512, linear head; MinAtar DQN = torso minatar,
    hidden 128, pixel_scale 1; DER (van Hasselt et al.) = torso der, hidden 256, dueling, noisy,
    51 atoms; Dopamine's DER = torso nature, padding same, hidden 512, dense_dueling, noisy, 51
    atoms, init xavier_uniform. Output width ``n_actions · atoms``.
    """
    for name, value, allowed in (("torso", torso, TORSOS), ("head", head, HEADS), ("padding", padding, PADDINGS),
                                 ("init", init, INITS)):
        if value not in allowed:
            raise KeyError(f"unknown {name} {value!r}; available: {', '.join(sorted(allowed))}")
    layers = [ToFloat(pixel_scale), *_conv_torso(input_shape[0], TORSOS[torso], padding), nn.Flatten()]
    flat = _flat_size(layers, input_shape)

    def linear(n_in: int, n_out: int) -> nn.Linear:
        return NoisyLinear(n_in, n_out, sigma0) if noisy else nn.Linear(n_in, n_out)

    if head == "dueling":
        layers.append(DuelingHead(flat, n_actions, atoms, hidden, noisy, sigma0))
    elif head == "dense_dueling":
        layers += [linear(flat, hidden), nn.ReLU(), DuelingHead(hidden, n_actions, atoms, None, noisy, sigma0)]
    else:
        layers += [linear(flat, hidden), nn.ReLU(), linear(hidden, n_actions * atoms)]
    net = nn.Sequential(*layers)
    return xavier_uniform_init(net) if init == "xavier_uniform" else net
