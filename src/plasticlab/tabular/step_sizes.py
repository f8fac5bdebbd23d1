"""Step-size schedules: α_t = α · schedule(t), one multiplier for the whole (seed × α) grid.

Constant step sizes are the QTD paper's main setting (its MSE-vs-step-size plots); a polynomially
decaying schedule α/(1 + t/t₀)^p gives the Robbins–Monro conditions for 1/2 < p ≤ 1, under which both
TD and QTD converge to their fixed points rather than hovering around them.
"""

from __future__ import annotations

from typing import Any, Callable

Schedule = Callable[[int], float]


def constant() -> Schedule:
    return lambda t: 1.0


def polynomial(power: float = 1.0, offset: float = 1.0) -> Schedule:
    if offset <= 0 or power < 0:
        raise ValueError(f"polynomial schedule needs offset > 0 and power ≥ 0, got {offset}, {power}")
    return lambda t: (1.0 + t / offset) ** (-power)


SCHEDULES: dict[str, Callable[..., Schedule]] = {"constant": constant, "polynomial": polynomial}


def make_schedule(spec: dict[str, Any] | None) -> Schedule:
    spec = dict(spec or {"name": "constant"})
    name = spec.pop("name", "constant")
    if name not in SCHEDULES:
        raise KeyError(f"unknown step-size schedule {name!r}; available: {', '.join(sorted(SCHEDULES))}")
    try:
        return SCHEDULES[name](**spec)
    except TypeError as error:
        raise ValueError(f"step-size schedule {name!r}: {error}") from None
