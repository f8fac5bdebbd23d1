"""Soft MoE in place of the penultimate dense layer (Obando-Ceron et al. 2024), or top-1 MoE.

As in Dopamine's ``labs/moes/architectures/networks.py``: the conv map's positions become tokens
and the block ``Flatten → Dense(hidden) → ReLU`` becomes ``Tokenise → (Soft|Top-1) MoE →
Flatten``; the head that read the dense layer (a Q layer, or the one-layer dueling streams of
Dopamine's full Rainbow / DER network, ``head: dense_dueling``) is rebuilt to read the flattened
MoE output (T·d features). The experts are as wide as the layer they replace unless
``expert_hidden`` says otherwise (Dopamine: 512, the width of the Nature/Rainbow dense layer),
and noisy when that layer is noisy (Dopamine passes the network's ``noisy`` flag to its experts).
Slots per expert default to ⌈T / experts⌉, so the total number of slots matches the number of
tokens. A network without a dense layer between its conv torso and its head (van Hasselt et al.'s
DER, whose dueling streams read the conv map) has nothing to replace: that is an error, not a
silent insertion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from plasticlab.interventions.base import Intervention
from plasticlab.interventions.registry import register
from plasticlab.nets.noisy import NoisyLinear
from plasticlab.nets.qnets import DuelingHead
from plasticlab.nets.softmoe import SoftMoE, Tokenise, Top1MoE

ROUTINGS = {"soft", "top1"}


def _rebuilt_head(head: nn.Module, in_features: int) -> nn.Module:
    """A fresh head of the same kind reading ``in_features`` inputs (NoisyLinear keeps its σ₀)."""
    if isinstance(head, DuelingHead):
        return head.with_input(in_features)
    if isinstance(head, nn.Linear):
        kwargs = {"sigma0": head.sigma0} if isinstance(head, NoisyLinear) else {}
        return type(head)(in_features, head.out_features, bias=head.bias is not None, **kwargs)
    raise ValueError(f"softmoe: expected a linear or dueling head after the penultimate dense layer, got {head!r}")


@register("softmoe")
@dataclass
class SoftMoEIntervention(Intervention):
    experts: int = 4
    routing: str = "soft"
    expert_hidden: int | None = None  # None: the width of the replaced dense layer
    slots_per_expert: int | None = None

    def __post_init__(self) -> None:
        if self.routing not in ROUTINGS:
            raise ValueError(f"softmoe: routing must be one of {sorted(ROUTINGS)}, got {self.routing!r}")
        if self.experts < 1:
            raise ValueError(f"softmoe: experts must be >= 1, got {self.experts}")
        if self.expert_hidden is not None and self.expert_hidden < 1:
            raise ValueError(f"softmoe: expert_hidden must be >= 1, got {self.expert_hidden}")

    def build(self, net: nn.Module) -> nn.Module:
        if not isinstance(net, nn.Sequential):
            raise ValueError("softmoe needs a flat Sequential Q-network (conv torso, Flatten, dense layers)")
        layers = list(net)
        flatten = next((i for i, m in enumerate(layers) if isinstance(m, nn.Flatten)), None)
        conv = [m for m in layers[: flatten or 0] if isinstance(m, nn.Conv2d)]
        if flatten is None or not conv:
            raise ValueError("softmoe needs a convolutional torso followed by a Flatten (tokens are conv positions)")
        width = conv[-1].out_channels
        rest = layers[flatten + 1:]
        if not (len(rest) >= 3 and isinstance(rest[0], nn.Linear) and isinstance(rest[1], nn.ReLU)):
            follower = type(rest[0]).__name__ if rest else "nothing"
            raise ValueError("softmoe replaces the penultimate dense layer (Flatten → Dense → ReLU → head), and this "
                             f"network has none (its Flatten is followed by {follower}); for DER use Dopamine's "
                             "network (model head: dense_dueling), whose dueling streams read a dense layer")
        dense = rest[0]
        if dense.in_features % width:
            raise ValueError(f"softmoe: {dense.in_features} flat features are not a whole number of {width}-wide tokens")
        tokens = dense.in_features // width
        noisy = isinstance(dense, NoisyLinear)
        moe = self._moe(width, tokens, self.expert_hidden or dense.out_features, noisy,
                        dense.sigma0 if noisy else 0.1)
        return nn.Sequential(*layers[:flatten], Tokenise(), moe, nn.Flatten(), _rebuilt_head(rest[2], tokens * width),
                             *rest[3:])

    def _moe(self, width: int, tokens: int, hidden: int, noisy: bool, sigma0: float) -> nn.Module:
        if self.routing == "top1":
            return Top1MoE(width, self.experts, hidden, noisy, sigma0)
        slots = self.slots_per_expert or math.ceil(tokens / self.experts)
        return SoftMoE(width, self.experts, slots, hidden, noisy, sigma0)
