"""Registry of studies, one module per paper (named after the study). ``plasticlab studies`` lists them.

A study's module is imported the first time the study is asked for, not when the registry is:
a job of one study (a NumPy qtd run, a table's aggregation) then loads that study's dependencies
only, and pays no torch import it does not use.
"""

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
    if study.name not in _MODULES:
        raise ValueError(f"study {study.name!r} must be listed in plasticlab.studies._MODULES (its module's name)")
    _REGISTRY[study.name] = study()
    return study


def available() -> list[str]:
    return sorted(_MODULES)


def get(name: str) -> Study:
    if name not in _MODULES:
        raise KeyError(f"unknown study {name!r}; available: {', '.join(available())}")
    if name not in _REGISTRY:
        import_module(f"plasticlab.studies.{name}")
        if name not in _REGISTRY:
            raise ValueError(f"module plasticlab.studies.{name} registers no study named {name!r}")
    return _REGISTRY[name]


__all__ = ["RunSpec", "Study", "available", "get", "register"]
