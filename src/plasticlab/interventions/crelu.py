"""Concatenated ReLU (Shang et al. 2016; Abbas et al. 2023 against plasticity loss).

CReLU(x) = [ReLU(x), ReLU(−x)]: for every pre-activation one of the two halves is active, so a
unit can never be dead on all inputs. The layer after each CReLU takes twice as many inputs
(widths are otherwise kept, so the parameter count of those layers doubles; halve ``hidden`` in
the model config for a parameter-matched comparison).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from plasticlab.interventions.base import Intervention
from plasticlab.interventions.registry import register


class CReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(x), torch.relu(-x)], dim=1)


@register("crelu")
@dataclass
class ConcatenatedReLU(Intervention):
    def build(self, net: nn.Module) -> nn.Module:
        for sequential in [m for m in net.modules() if isinstance(m, nn.Sequential)]:
            layers = list(sequential)
            for i, layer in enumerate(layers):
                if not isinstance(layer, nn.ReLU):
                    continue
                following = next((j for j in range(i + 1, len(layers)) if isinstance(layers[j], (nn.Linear, nn.Conv2d))), None)
                if following is None or any(isinstance(m, (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d))
                                            for m in layers[i + 1 : following]):
                    continue
                sequential[i] = CReLU()
                sequential[following] = _widened(layers[following])
        return net


def _widened(layer: nn.Module) -> nn.Module:
    """The same layer type with twice the input width, freshly initialised."""
    if isinstance(layer, nn.Linear):
        return nn.Linear(2 * layer.in_features, layer.out_features, bias=layer.bias is not None)
    return nn.Conv2d(2 * layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                     bias=layer.bias is not None)
