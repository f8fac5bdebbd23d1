"""Representation metrics: feature rank, dormant and saturated units, norms, pre-activations.

Three rank notions are easy to confuse, so each is named exactly:

* ``srank`` (Kumar et al. 2021): the smallest k whose top-k singular values reach (1 − δ) of their sum;
* ``effective_rank`` (Roy & Vetterli 2007): exp of the entropy of the normalised singular values;
* ``stable_rank``: ‖Φ‖²_F / ‖Φ‖²_2.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn


def singular_values(features: torch.Tensor) -> torch.Tensor:
    """Singular values of an (n, d) feature matrix, in float64, descending, on the CPU (the
    rank formulas then work the same for features computed on any device)."""
    return torch.linalg.svdvals(features.detach().double().flatten(1)).cpu()


def srank(features: torch.Tensor, delta: float = 0.01) -> int:
    """Smallest k with σ_1 + … + σ_k ≥ (1 − δ) Σσ (Kumar et al. 2021): a rank that ignores the tail."""
    sigma = singular_values(features)
    if sigma.sum() == 0:
        return 0
    cumulative = torch.cumsum(sigma, 0) / sigma.sum()
    k = int(torch.searchsorted(cumulative, torch.tensor(1.0 - delta, dtype=cumulative.dtype) - 1e-12).item()) + 1
    return min(k, len(sigma))


def effective_rank(features: torch.Tensor) -> float:
    """exp(entropy of σ/Σσ) (Roy & Vetterli 2007): a smooth rank, equal to r for r equal σ's."""
    sigma = singular_values(features)
    if sigma.sum() == 0:
        return 0.0
    p = sigma / sigma.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def stable_rank(features: torch.Tensor) -> float:
    """‖Φ‖²_F / ‖Φ‖²_2: how many directions carry energy comparable to the top one."""
    sigma = singular_values(features)
    return float((sigma**2).sum() / sigma[0] ** 2) if sigma[0] > 0 else 0.0


def _per_unit(activations: torch.Tensor) -> torch.Tensor:
    """(samples, units) view: units are dim 1 ((n, units) or conv (n, C, ...)), spatial dims join samples."""
    a = activations.detach()
    if a.dim() == 1:
        return a[None]
    return a.movedim(1, -1).reshape(-1, a.shape[1])


def dormant_scores(activations: torch.Tensor) -> torch.Tensor:
    """ReDo score per unit (Sokar et al. 2023): mean |activation| over inputs / its mean over units."""
    activity = _per_unit(activations).abs().mean(0)
    return activity / (activity.mean() + 1e-12)


def dormant_fraction(activations: torch.Tensor | Mapping[str, torch.Tensor], tau: float = 0.0) -> float | dict[str, float]:
    """Fraction of units with ReDo score ≤ τ (τ = 0: units silent on every input); a dict of layer
    activations gives a dict of fractions."""
    if isinstance(activations, Mapping):
        return {name: float(dormant_fraction(a, tau)) for name, a in activations.items()}
    return float((dormant_scores(activations) <= tau).float().mean())


def saturated_fraction(activations: torch.Tensor, low: float = 0.0, kind: str = "relu", threshold: float = 0.99) -> float:
    """Fraction of units saturated on *all* inputs (no gradient flows through them): ReLU a ≤ ``low``
    (dead), tanh |a| ≥ ``threshold``, sigmoid a ≥ threshold or a ≤ 1 − threshold."""
    a = _per_unit(activations)
    if kind == "relu":
        saturated = (a <= low).all(dim=0)
    elif kind == "tanh":
        saturated = (a.abs() >= threshold).all(dim=0)
    elif kind == "sigmoid":
        saturated = ((a >= threshold) | (a <= 1 - threshold)).all(dim=0)
    else:
        raise KeyError(f"unknown saturation kind {kind!r}; available: relu, tanh, sigmoid")
    return float(saturated.float().mean())


def parameter_norm(model: nn.Module) -> float:
    """L2 norm of all parameters (growth of it accompanies plasticity loss)."""
    return float(torch.sqrt(sum((p.detach().double() ** 2).sum() for p in model.parameters())))


def gradient_norm(model: nn.Module) -> float:
    """L2 norm of the current ``.grad`` of all parameters (0 if none)."""
    grads = [p.grad.detach().double() for p in model.parameters() if p.grad is not None]
    return float(torch.sqrt(sum((g**2).sum() for g in grads))) if grads else 0.0


def feature_norm(features: torch.Tensor) -> float:
    """Mean L2 norm of the feature vectors (rows)."""
    return float(features.detach().flatten(1).norm(dim=1).mean())


def _capture(model: nn.Module, inputs: torch.Tensor, types: tuple[type, ...], pre: bool) -> dict[str, torch.Tensor]:
    """One no-grad forward in eval mode (train/eval flags restored), recording the inputs (``pre``)
    or outputs of every module of the given types."""
    captured: dict[str, torch.Tensor] = {}

    def pre_hook(name: str):
        return lambda module, args: captured.__setitem__(name, args[0].detach())

    def post_hook(name: str):
        return lambda module, args, out: captured.__setitem__(name, out.detach())

    hooks = [module.register_forward_pre_hook(pre_hook(name)) if pre else module.register_forward_hook(post_hook(name))
             for name, module in model.named_modules() if isinstance(module, types)]
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for module, training in modes.items():
            module.training = training
        for hook in hooks:
            hook.remove()
    return captured


def preactivation_stats(model: nn.Module, inputs: torch.Tensor) -> dict[str, tuple[float, float]]:
    """Mean and std of every Linear/Conv output (the pre-activations), by module name."""
    outputs = _capture(model, inputs, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d), pre=False)
    return {name: (float(t.mean()), float(t.std())) for name, t in outputs.items()}


def layer_activations(model: nn.Module, inputs: torch.Tensor, types: tuple[type, ...] = (nn.ReLU, nn.Tanh, nn.GELU, nn.ELU, nn.LeakyReLU, nn.SiLU, nn.Sigmoid)) -> dict[str, torch.Tensor]:
    """Post-activation outputs of every activation module, by module name."""
    return _capture(model, inputs, types, pre=False)


def penultimate_features(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The input of the last Linear module (the representation the output head reads), in eval mode."""
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model has no nn.Linear module")
    last = linears[-1]
    inputs_of = _capture(model, inputs, (nn.Linear,), pre=True)
    return inputs_of[last]
