"""Soft MoE in place of the penultimate dense layer (Obando-Ceron et al. 2024), or top-1 MoE.

On a flat Q-network ``… Conv → ReLU → Flatten → Dense → ReLU → head`` the block
``Flatten → Dense → ReLU`` becomes ``Tokenise → (Soft|Top-1) MoE → Flatten`` and the head is
rebuilt to read the flattened MoE output (T·d features). On a network whose Flatten feeds a
composite head directly (DER's dueling streams), the MoE is inserted before the Flatten and the
head keeps its input width (T·d = the flattened conv map). Slots per expert default to
⌈T / experts⌉, so the total number of slots matches the number of tokens, as in the paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from plasticlab.interventions.base import Intervention
from plasticlab.interventions.registry import register
from plasticlab.nets.softmoe import SoftMoE, Tokenise, Top1MoE

ROUTINGS = {"soft", "top1"}


def _rebuilt_linear(layer: nn.Linear, in_features: int) -> nn.Linear:
    """A fresh layer of the same kind with a new input width (NoisyLinear keeps its σ₀)."""
    kwargs = {"sigma0": layer.sigma0} if hasattr(layer, "sigma0") else {}
    return type(layer)(in_features, layer.out_features, bias=layer.bias is not None, **kwargs)


@register("softmoe")
@dataclass
class SoftMoEIntervention(Intervention):
    experts: int = 4
    routing: str = "soft"
    expert_hidden: int = 512
    slots_per_expert: int | None = None

    def __post_init__(self) -> None:
        if self.routing not in ROUTINGS:
            raise ValueError(f"softmoe: routing must be one of {sorted(ROUTINGS)}, got {self.routing!r}")
        if self.experts < 1:
            raise ValueError(f"softmoe: experts must be >= 1, got {self.experts}")

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
        dense_follows = len(rest) >= 3 and isinstance(rest[0], nn.Linear) and isinstance(rest[1], nn.ReLU)
        flat = rest[0].in_features if isinstance(rest[0], nn.Linear) else getattr(rest[0], "in_features", None)
        if flat is None or flat % width:
            raise ValueError(f"softmoe: cannot infer the token count from the layer after Flatten ({rest[0]!r})")
        tokens = flat // width
        moe = self._moe(width, tokens)
        if dense_follows:
            head = rest[2]
            if not isinstance(head, nn.Linear):
                raise ValueError(f"softmoe: expected a linear head after the penultimate dense layer, got {head!r}")
            new_rest = [_rebuilt_linear(head, tokens * width), *rest[3:]]
        else:
            new_rest = rest
        return nn.Sequential(*layers[:flatten], Tokenise(), moe, nn.Flatten(), *new_rest)

    def _moe(self, width: int, tokens: int) -> nn.Module:
        if self.routing == "top1":
            return Top1MoE(width, self.experts, self.expert_hidden)
        slots = self.slots_per_expert or math.ceil(tokens / self.experts)
        return SoftMoE(width, self.experts, slots, self.expert_hidden)
