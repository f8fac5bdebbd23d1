"""How many atoms a categorical representation needs, and on what support (Rowland et al. 2024).

The error of the categorical fixed point of a sampled model splits into two terms (the paper's
analysis, Sec. 5): the *representation* error of the categorical fixed point of the true model,
and the *sampling* error of replacing the true model by the one from N samples per state. The
near-minimax rate of DCFP is a statement about the second; it shows in a measured error only if
the first sits below it. Both have closed-form scales:

- representation: with evenly spaced atoms Δ apart on the support, each projection moves mass at
  most Δ/2 in W1 and the distributional Bellman operator contracts W1 by γ, so the categorical
  fixed point is within Δ / (2(1 − γ)) of the true return distribution (sup over states);
- sampling: the minimax rate of return-distribution (and value) estimation with a generative model
  is of order R·√(1 / (N (1 − γ)³)) for rewards in a range of width R (up to logarithmic factors).

On the paper's support [r_min, r_max] / (1 − γ) (every return lies in it, so the projection loses
no mass), Δ = R / ((1 − γ)(m − 1)), and asking the representation bound to stay below
1/(2c) of the sampling scale gives m − 1 ≥ c·√(N / (1 − γ)): the number of atoms must grow like
√N, which is what the paper's condition on m (of order 1 / ((1 − γ)² ε) for accuracy ε) becomes
with ε at the minimax rate. ``scale`` is c (default 4); the bound holds for any return
distribution, so on smooth ones the representation error sits well below it.
"""

from __future__ import annotations

import math
from typing import Any, Callable

AtomRule = Callable[..., int]


def paper_support(reward_bounds: tuple[float, float], gamma: float) -> tuple[float, float]:
    """[r_min, r_max]/(1 − γ), widened to include 0: every return lies in it."""
    low, high = reward_bounds
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1.0
    return low / (1.0 - gamma), high / (1.0 - gamma)


def representation_error_bound(support: tuple[float, float], n_atoms: int, gamma: float) -> float:
    """Δ / (2(1 − γ)): sup-W1 distance of the categorical fixed point from the true return law."""
    return (support[1] - support[0]) / (n_atoms - 1) / (2.0 * (1.0 - gamma))


def minimax_sampling_scale(samples: int, gamma: float, reward_range: float = 1.0) -> float:
    """R·√(1/(N(1 − γ)³)): the order of the best achievable error from N samples per state."""
    return reward_range * math.sqrt(1.0 / (samples * (1.0 - gamma) ** 3))


def sqrt_samples_atoms(samples: int, gamma: float, scale: float = 4.0, max_atoms: int | None = None) -> int:
    """m = 1 + ⌈c·√(N/(1 − γ))⌉, the fewest atoms whose representation bound on the paper's support
    is at most 1/(2c) of the minimax sampling scale; capped at ``max_atoms`` if given."""
    if samples < 1 or not 0.0 <= gamma < 1.0 or not scale > 0:
        raise ValueError(f"need N ≥ 1, γ in [0, 1) and scale > 0, got N={samples}, γ={gamma}, scale={scale}")
    atoms = 1 + math.ceil(scale * math.sqrt(samples / (1.0 - gamma)) - 1e-9)
    return max(2, min(atoms, int(max_atoms)) if max_atoms else atoms)


ATOM_RULES: dict[str, AtomRule] = {"sqrt_samples": sqrt_samples_atoms}


def check_atoms(spec: Any) -> None:
    """An atom spec is an integer ≥ 2 or ``{rule: <name>, <its parameters>}``; raise naming the problem."""
    if isinstance(spec, bool) or not isinstance(spec, (int, dict)):
        raise ValueError(f"atoms entry {spec!r} must be an integer or {{rule: ..., ...}}")
    if isinstance(spec, int):
        if spec < 2:
            raise ValueError(f"atoms entry {spec} must be at least 2")
        return
    params = {k: v for k, v in spec.items() if k != "rule"}
    if spec.get("rule") not in ATOM_RULES:
        raise KeyError(f"unknown atom rule {spec.get('rule')!r}; available: {', '.join(sorted(ATOM_RULES))}")
    try:
        ATOM_RULES[spec["rule"]](10, 0.5, **params)
    except TypeError as error:
        raise ValueError(f"atom rule {spec['rule']!r}: {error}") from None


def atoms_for(spec: int | dict[str, Any], samples: int, gamma: float) -> int:
    """The number of atoms an atom spec gives for N samples per state at discount γ."""
    if isinstance(spec, int):
        return spec
    params = {k: v for k, v in spec.items() if k != "rule"}
    return ATOM_RULES[spec["rule"]](samples, gamma, **params)


def atoms_label(spec: int | dict[str, Any]) -> str:
    """How a spec is named in tables and figures: "15", or "sqrt_samples(c=4)"."""
    if isinstance(spec, int):
        return str(spec)
    params = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "rule")
    return f"{spec['rule']}({params})" if params else str(spec["rule"])
