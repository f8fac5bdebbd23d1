"""Pre-activation layer normalisation in every hidden layer (Lyle et al. 2023, 2024).

Rewrites Sequentials in place: ``Linear → act`` becomes ``Linear → LayerNorm → act`` and
``Conv2d → act`` becomes ``Conv2d → GroupNorm(1, C) → act`` (LayerNorm over channels and space).
The output head has no activation after it and stays untouched.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from torch import nn
from torch.nn.modules import activation as torch_activations

from plasticlab.interventions.base import Intervention
from plasticlab.interventions.crelu import CReLU
from plasticlab.interventions.registry import register
from plasticlab.nets.mlp import ACTIVATIONS

# Output non-linearities and attention are not hidden-layer activations: a Linear before them
# is a head (or a projection) and must stay unnormalised.
_NOT_HIDDEN = (nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.Softmax2d, nn.MultiheadAttention)


def is_activation(module: nn.Module) -> bool:
    """Whether ``module`` is an element-wise hidden-layer non-linearity."""
    if isinstance(module, _NOT_HIDDEN):
        return False
    if isinstance(module, (*ACTIVATIONS.values(), CReLU)):
        return True
    return type(module).__module__ == torch_activations.__name__


@register("layernorm")
@dataclass
class LayerNorm(Intervention):
    """Insert a normalisation between every hidden weight layer and its activation.

    Idempotent (a normalised layer is no longer directly followed by its activation), and the
    existing modules are kept (same objects), so only the inserted norms are new parameters.
    """

    elementwise_affine: bool = True

    def build(self, net: nn.Module) -> nn.Module:
        for module in list(net.modules()):
            if isinstance(module, nn.Sequential):
                self._rewrite(module)
        return net

    def _norm_for(self, layer: nn.Module) -> nn.Module | None:
        if isinstance(layer, nn.Linear):
            return nn.LayerNorm(layer.out_features, elementwise_affine=self.elementwise_affine)
        if isinstance(layer, nn.Conv2d):
            return nn.GroupNorm(1, layer.out_channels, affine=self.elementwise_affine)
        return None

    def _rewrite(self, sequential: nn.Sequential) -> None:
        entries = list(sequential._modules.items())
        rewritten: list[tuple[str, nn.Module]] = []
        for index, (name, layer) in enumerate(entries):
            rewritten.append((name, layer))
            following = entries[index + 1][1] if index + 1 < len(entries) else None
            norm = self._norm_for(layer) if following is not None and is_activation(following) else None
            if norm is not None:
                rewritten.append((f"{name}_norm", norm))
        if len(rewritten) == len(entries):
            return
        # An index-named Sequential is renumbered (the usual "0", "1", ... keys); one with
        # meaningful names keeps them and names each norm after its layer.
        renumber = all(name.isdigit() for name, _ in entries)
        modules = OrderedDict(
            (str(position) if renumber else name, module) for position, (name, module) in enumerate(rewritten)
        )
        sequential._modules.clear()
        for name, module in modules.items():
            sequential.add_module(name, module)
