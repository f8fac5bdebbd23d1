"""Representation metrics: feature rank, dormant and saturated units, norms, pre-activations.

Three rank notions are easy to confuse, so each is named exactly:

* ``srank`` (Kumar et al. 2021): the smallest k whose top-k singular values reach (1 − δ) of their sum;
* ``effective_rank`` (Roy & Vetterli 2007): exp of the entropy of the normalised singular values;
* ``stable_rank``: ‖Φ‖²_F / ‖Φ‖²_2.
"""

from __future__ import annotations

import torch
from torch import nn


def singular_values(features: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(features.detach().double())


def srank(features: torch.Tensor, delta: float = 0.01) -> int:
    sigma = singular_values(features)
    if sigma.sum() == 0:
        return 0
    cumulative = torch.cumsum(sigma, 0) / sigma.sum()
    return int(torch.searchsorted(cumulative, torch.tensor(1.0 - delta, dtype=cumulative.dtype) - 1e-12).item()) + 1


def effective_rank(features: torch.Tensor) -> float:
    sigma = singular_values(features)
    p = sigma / sigma.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def stable_rank(features: torch.Tensor) -> float:
    sigma = singular_values(features)
    return float((sigma**2).sum() / sigma[0] ** 2) if sigma[0] > 0 else 0.0


def dormant_scores(activations: torch.Tensor) -> torch.Tensor:
    """ReDo score per unit (Sokar et al. 2023): mean |activation| over inputs / layer mean."""
    activity = activations.detach().abs().flatten(0, -2).mean(0) if activations.dim() > 1 else activations.abs()
    return activity / (activity.mean() + 1e-12)


def dormant_fraction(activations: torch.Tensor, tau: float = 0.0) -> float:
    """Fraction of units with ReDo score ≤ τ (τ = 0: units silent on every input)."""
    return float((dormant_scores(activations) <= tau).float().mean())


def saturated_fraction(activations: torch.Tensor, kind: str = "relu", threshold: float = 0.99) -> float:
    """Fraction of units saturated on *all* inputs: ReLU ≤ 0 (dead), or tanh/sigmoid |a| ≥ threshold
    (sigmoid: a ≥ threshold or a ≤ 1 − threshold)."""
    a = activations.detach().flatten(0, -2) if activations.dim() > 1 else activations.detach()[None]
    if kind == "relu":
        saturated = (a <= 0).all(dim=0)
    elif kind == "tanh":
        saturated = (a.abs() >= threshold).all(dim=0)
    elif kind == "sigmoid":
        saturated = ((a >= threshold) | (a <= 1 - threshold)).all(dim=0)
    else:
        raise KeyError(f"unknown saturation kind {kind!r}; available: relu, tanh, sigmoid")
    return float(saturated.float().mean())


def parameter_norm(model: nn.Module) -> float:
    return float(torch.sqrt(sum((p.detach().double() ** 2).sum() for p in model.parameters())))


def gradient_norm(model: nn.Module) -> float:
    grads = [p.grad.detach().double() for p in model.parameters() if p.grad is not None]
    return float(torch.sqrt(sum((g**2).sum() for g in grads))) if grads else 0.0


def feature_norm(features: torch.Tensor) -> float:
    """Mean L2 norm of the feature vectors (rows)."""
    return float(features.detach().flatten(1).norm(dim=1).mean())


def _capture(model: nn.Module, inputs: torch.Tensor, types: tuple[type, ...], pre: bool) -> dict[str, torch.Tensor]:
    captured: dict[str, torch.Tensor] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, types):
            if pre:
                hooks.append(module.register_forward_pre_hook(lambda m, args, name=name: captured.__setitem__(name, args[0].detach())))
            else:
                hooks.append(module.register_forward_hook(lambda m, args, out, name=name: captured.__setitem__(name, out.detach())))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return captured


def preactivation_stats(model: nn.Module, inputs: torch.Tensor) -> dict[str, tuple[float, float]]:
    """Mean and std of every Linear/Conv output (the pre-activations), by module name."""
    outputs = _capture(model, inputs, (nn.Linear, nn.Conv1d, nn.Conv2d), pre=False)
    return {name: (float(t.mean()), float(t.std())) for name, t in outputs.items()}


def layer_activations(model: nn.Module, inputs: torch.Tensor, types: tuple[type, ...] = (nn.ReLU, nn.Tanh, nn.GELU, nn.ELU, nn.LeakyReLU, nn.SiLU, nn.Sigmoid)) -> dict[str, torch.Tensor]:
    """Post-activation outputs of every activation module, by module name."""
    return _capture(model, inputs, types, pre=False)


def penultimate_features(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The input of the last Linear module (the representation the output head reads)."""
    last = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    inputs_of = _capture(model, inputs, (nn.Linear,), pre=True)
    return inputs_of[last]
