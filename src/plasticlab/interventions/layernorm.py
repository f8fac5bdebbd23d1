"""Pre-activation layer normalisation in every hidden layer (Lyle et al. 2023, 2024).

Rewrites Sequentials in place: ``Linear → act`` becomes ``Linear → LayerNorm → act`` and
``Conv2d → act`` becomes ``Conv2d → GroupNorm(1, C) → act`` (LayerNorm over channels and space).
The output head has no activation after it and stays untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from plasticlab.interventions.base import Intervention
from plasticlab.interventions.registry import register
from plasticlab.nets.mlp import ACTIVATIONS

_ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


@register("layernorm")
@dataclass
class LayerNorm(Intervention):
    elementwise_affine: bool = True

    def build(self, net: nn.Module) -> nn.Module:
        for module in list(net.modules()):
            if isinstance(module, nn.Sequential):
                self._rewrite(module)
        return net

    def _rewrite(self, sequential: nn.Sequential) -> None:
        layers = list(sequential)
        rewritten: list[nn.Module] = []
        for index, layer in enumerate(layers):
            rewritten.append(layer)
            following = layers[index + 1] if index + 1 < len(layers) else None
            if not isinstance(following, _ACTIVATION_TYPES):
                continue
            if isinstance(layer, nn.Linear):
                rewritten.append(nn.LayerNorm(layer.out_features, elementwise_affine=self.elementwise_affine))
            elif isinstance(layer, nn.Conv2d):
                rewritten.append(nn.GroupNorm(1, layer.out_channels, affine=self.elementwise_affine))
        if len(rewritten) != len(layers):
            for name in list(sequential._modules):
                del sequential._modules[name]
            for index, layer in enumerate(rewritten):
                sequential.add_module(str(index), layer)
