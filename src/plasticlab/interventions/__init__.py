"""Interventions against plasticity loss: one module each, selected by name from configs.

Importing this package registers every intervention module listed in ``_MODULES``.
"""

from importlib import import_module

from plasticlab.interventions.base import Composite, Intervention, TrainContext
from plasticlab.interventions.registry import available, build, get, normalise_spec, register, validate

_MODULES = [
    "reset",
    "shrink_perturb",
    "softmoe",
    "hare_tortoise",
    "layernorm",
    "weight_decay",
    "l2",
    "l2_init",
    "redo",
    "crelu",
    "infer",
    "plasticity_injection",
]

for _module in _MODULES:
    import_module(f"plasticlab.interventions.{_module}")

__all__ = [
    "Composite",
    "Intervention",
    "TrainContext",
    "available",
    "build",
    "get",
    "normalise_spec",
    "register",
    "validate",
]
