"""A name → factory registry for the parts configs choose by name (tokenizers, reward models, ...).

Configs name a factory and give its options, ``{name: clip_bpe, path: ...}``; the registry turns
that into an object and, for a name nobody registered, raises the error a user needs: what kind
of thing was asked for, and which names exist.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Registry(Generic[F]):
    def __init__(self, kind: str):
        self.kind = kind
        self._factories: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator: make ``factory`` available to configs under ``name``."""
        def decorate(factory: F) -> F:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory
        return decorate

    def available(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def get(self, name: str) -> F:
        try:
            return self._factories[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; available: {', '.join(self.available())}") from None

    def build(self, spec: dict[str, Any]) -> Any:
        """``{name: <registered>, ...options}`` → ``factory(**options)``."""
        options = dict(spec)
        return self.get(options.pop("name", None))(**options)
