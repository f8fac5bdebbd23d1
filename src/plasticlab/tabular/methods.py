"""Model-based distributional methods by name: each maps (model, number of atoms, support, tolerance)
to per-state atoms and probabilities, so the study and the benchmark compare them uniformly.

Categorical methods use ``n_atoms`` evenly spaced atoms on the support [r_min, r_max]/(1 − γ)
(:func:`~plasticlab.tabular.representation.paper_support`); quantile DP uses ``n_atoms`` quantiles —
the same budget, as in Rowland et al. 2024's comparison.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from plasticlab.tabular.categorical_dp import categorical_dp
from plasticlab.tabular.dcfp import dcfp
from plasticlab.tabular.model import Model
from plasticlab.tabular.projections import atoms_between
from plasticlab.tabular.quantile_dp import quantile_dp

# (atoms (S, K), probabilities (S, K), iterations)
Result = tuple[np.ndarray, np.ndarray, int]
Method = Callable[[Model, int, tuple[float, float], float], Result]


def _dcfp(model: Model, n_atoms: int, support: tuple[float, float], tol: float) -> Result:
    atoms = atoms_between(*support, n_atoms)
    return np.tile(atoms, (model.n_states, 1)), dcfp(model, atoms), 1


def _categorical_dp(model: Model, n_atoms: int, support: tuple[float, float], tol: float) -> Result:
    atoms = atoms_between(*support, n_atoms)
    probs, iterations = categorical_dp(model, atoms, tol=tol)
    return np.tile(atoms, (model.n_states, 1)), probs, iterations


def _quantile_dp(model: Model, n_atoms: int, support: tuple[float, float], tol: float) -> Result:
    theta, iterations = quantile_dp(model, n_atoms, tol=tol)
    return theta, np.full(theta.shape, 1.0 / n_atoms), iterations


METHODS: dict[str, Method] = {"dcfp": _dcfp, "categorical_dp": _categorical_dp, "quantile_dp": _quantile_dp}


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise KeyError(f"unknown distributional method {name!r}; available: {', '.join(sorted(METHODS))}") from None

