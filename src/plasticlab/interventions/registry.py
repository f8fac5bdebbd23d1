"""Name → intervention class, and parsing of config specs into intervention objects.

A spec is what a config writes for a variant:

* a string: ``"none"``, ``"reset"`` or a composition ``"layernorm+weight_decay"`` (defaults);
* a list of mappings: ``[{name: reset, layers: 1}, {name: weight_decay, coef: 1e-4}]``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

from plasticlab.interventions.base import Composite, Intervention

_REGISTRY: dict[str, type[Intervention]] = {}

T = TypeVar("T", bound=type[Intervention])


def register(name: str) -> Callable[[T], T]:
    """Class decorator: make an intervention available to configs under ``name``."""

    def decorate(cls: T) -> T:
        if name in _REGISTRY:
            raise ValueError(f"intervention {name!r} is registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def available() -> list[str]:
    """Registered intervention names, sorted."""
    return sorted(_REGISTRY)


def get(name: str) -> type[Intervention]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown intervention {name!r}; available: {', '.join(available())}"
        ) from None


def parameters(name: str) -> list[str]:
    """The config parameters an intervention accepts (its dataclass fields)."""
    cls = get(name)
    return [f.name for f in dataclasses.fields(cls) if f.init] if dataclasses.is_dataclass(cls) else []


def make_one(name: str, params: dict[str, Any] | None = None) -> Intervention:
    cls = get(name)
    params = dict(params or {})
    accepted = set(parameters(name))
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(
            f"intervention {name!r} has no parameter(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(sorted(accepted)) or '(none)'}"
        )
    return cls(**params)


def normalise_spec(spec: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Turn any accepted spec form into a list of ``{name: ..., **params}`` mappings."""
    if spec is None or spec == "none" or spec == []:
        return []
    if isinstance(spec, str):
        return [{"name": part.strip()} for part in spec.split("+") if part.strip()]
    if isinstance(spec, list):
        out = []
        for item in spec:
            if isinstance(item, str):
                out.extend(normalise_spec(item))
            elif isinstance(item, dict) and "name" in item:
                out.append(dict(item))
            else:
                raise ValueError(f"intervention spec entries need a 'name': got {item!r}")
        return out
    raise ValueError(f"cannot read intervention spec {spec!r}")


def build(spec: str | list[dict[str, Any]] | None) -> Intervention:
    """The intervention (possibly a composition) a config spec describes; ``none`` → no-op."""
    items = normalise_spec(spec)
    parts = [make_one(item["name"], {k: v for k, v in item.items() if k != "name"}) for item in items]
    if len(parts) == 1:
        return parts[0]
    return Composite(parts)


def validate(spec: str | list[dict[str, Any]] | None) -> None:
    """Raise a ValueError/KeyError naming the problem if ``spec`` cannot be built."""
    build(spec)
