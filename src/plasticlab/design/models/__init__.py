"""Outcome models by name: ``{name: gp | mc_dropout | ensemble, <its parameters>}`` in the config."""

from __future__ import annotations

from typing import Any, Callable

from plasticlab.design.models.base import OutcomeModel, Posterior, sample_posterior
from plasticlab.design.models.gp import GaussianProcess
from plasticlab.design.models.mlp import MLPModel

MODELS: dict[str, Callable[..., OutcomeModel]] = {
    "gp": GaussianProcess,
    "mc_dropout": lambda **kw: MLPModel(**{"members": 1, "dropout": 0.5, **kw}),
    "ensemble": lambda **kw: MLPModel(**{"members": 5, "dropout": 0.0, **kw}),
}


def build_model(spec: dict[str, Any], device: str = "cpu") -> OutcomeModel:
    """A fresh model from ``{name: ..., **parameters}``; unknown names or parameters raise."""
    params = {k: v for k, v in spec.items() if k != "name"}
    name = spec.get("name")
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS))}")
    if name != "gp":
        params.setdefault("device", device)
    if "fit" in params:
        params["fit_hyperparameters"] = params.pop("fit")
    try:
        return MODELS[name](**params)
    except TypeError as error:
        raise ValueError(f"model {name!r}: {error}") from None


__all__ = ["MODELS", "GaussianProcess", "MLPModel", "OutcomeModel", "Posterior", "build_model", "sample_posterior"]
