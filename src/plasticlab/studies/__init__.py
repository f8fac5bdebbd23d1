"""Registry of studies, one module per paper. ``plasticlab studies`` lists them."""

from __future__ import annotations

from importlib import import_module

from plasticlab.studies.base import RunSpec, Study

_MODULES = ["warmstart", "disentangle", "understanding", "capacity", "qtd", "dcfp", "injection", "softmoe", "hare_tortoise",
            "discobax", "vlm_rewards"]
_REGISTRY: dict[str, Study] = {}


def register(study: type[Study]) -> type[Study]:
    """Class decorator: register one instance of a study under its ``name``."""
    if study.name in _REGISTRY:
        raise ValueError(f"study {study.name!r} is registered twice")
    _REGISTRY[study.name] = study()
    return study


def available() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str) -> Study:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown study {name!r}; available: {', '.join(available())}") from None


for _module in _MODULES:
    import_module(f"plasticlab.studies.{_module}")

__all__ = ["RunSpec", "Study", "available", "get", "register"]
