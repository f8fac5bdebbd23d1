"""Network architectures, built by name from config specs ``{name: ..., **kwargs}``."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

from torch import nn

from plasticlab.nets.mlp import ACTIVATIONS, make_activation, make_mlp
from plasticlab.nets.qnets import q_network
from plasticlab.nets.resnet import make_resnet18


def _mlp(input_shape: tuple[int, ...], n_classes: int, hidden: Sequence[int] = (256, 256), activation: str = "relu") -> nn.Module:
    return make_mlp(input_shape, list(hidden), n_classes, activation)


def _resnet18(input_shape: tuple[int, ...], n_classes: int, width: int = 64) -> nn.Module:
    return make_resnet18(input_shape, n_classes, width)


# Name → builder(input_shape, n_classes, **options); the options a config may set are the
# builder's keyword parameters.
def _qnet(input_shape: tuple[int, ...], n_classes: int, torso: str = "nature", hidden: int = 512, head: str = "linear",
          atoms: int = 1, noisy: bool = False, sigma0: float = 0.1, pixel_scale: float = 1 / 255, padding: str = "valid",
          init: str = "torch") -> nn.Module:
    return q_network(input_shape, n_classes, torso, hidden, head, atoms, noisy, sigma0, pixel_scale, padding, init)


BUILDERS: dict[str, Callable[..., nn.Module]] = {"mlp": _mlp, "resnet18": _resnet18, "qnet": _qnet}


def _options(name: str) -> set[str]:
    return set(inspect.signature(BUILDERS[name]).parameters) - {"input_shape", "n_classes"}


def check_spec(spec: dict[str, Any]) -> None:
    """Raise KeyError/ValueError naming an unknown architecture or option.

    Options of *other* architectures are allowed and ignored: configs merge key by key, so a
    paper config that switches ``name: mlp`` to ``name: resnet18`` still carries ``hidden``.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"a model spec is a mapping {{name: ..., **options}}, got {spec!r}")
    name = spec.get("name")
    if name not in BUILDERS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(BUILDERS))}")
    known = set().union(*(_options(n) for n in BUILDERS))
    unknown = sorted(set(spec) - known - {"name"})
    if unknown:
        raise ValueError(f"model {name!r} has no option(s) {', '.join(map(repr, unknown))}; "
                         f"accepted: {', '.join(sorted(_options(name)))}")


def build_net(spec: dict[str, Any], input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """The network a config spec names, e.g. ``{"name": "mlp", "hidden": [256, 256]}``."""
    check_spec(spec)
    kwargs = {k: v for k, v in spec.items() if k in _options(spec["name"])}
    return BUILDERS[spec["name"]](tuple(input_shape), n_classes, **kwargs)


def weight_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """Linear and convolution modules in registration order (≈ forward order), with their
    qualified names: "the last k layers" of a reset counts these."""
    return [(name, module) for name, module in net.named_modules() if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d))]


__all__ = ["ACTIVATIONS", "BUILDERS", "build_net", "check_spec", "make_activation", "make_mlp", "make_resnet18", "q_network", "weight_layers"]
