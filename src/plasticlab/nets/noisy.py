"""Factorised Gaussian noisy linear layer (Fortunato et al. 2018), the exploration of Rainbow/DER.

A subclass of ``nn.Linear`` on purpose: ``weight``/``bias`` are the means μ, so every tool that
treats Linear layers (resets of the last k layers, LayerNorm insertion, ReDo, weight norms)
handles noisy layers too. Noise is drawn from torch's global generator (checkpointed) on every
forward pass in training mode; in eval mode the layer is its mean (greedy evaluation).

:func:`shared_noise` makes the noisy layers of one module reuse the noise the matching layers of
another drew in their last forward pass: plasticity injection needs its new head and the head's
frozen copy to see the *same* noise, or the output would jump at the moment of injection.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn


def _signed_sqrt(x: torch.Tensor) -> torch.Tensor:
    return x.sign() * x.abs().sqrt()


def factorised_noise(size: int, like: torch.Tensor) -> torch.Tensor:
    """f(ε) = sgn(ε)√|ε| with ε ~ N(0, 1)^size, on ``like``'s device and dtype."""
    return _signed_sqrt(torch.randn(size, device=like.device, dtype=like.dtype))


class NoisyLinear(nn.Linear):
    """y = (μ_w + σ_w ⊙ ε_out ε_inᵀ) x + μ_b + σ_b ⊙ ε_out, ε = f(N(0, 1)), f(x) = sgn(x)√|x|."""

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5, bias: bool = True):
        self.sigma0 = float(sigma0)
        super().__init__(in_features, out_features, bias=bias)
        self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
        self.bias_sigma = nn.Parameter(torch.empty(out_features)) if bias else None
        self._reset_sigma()
        self.last_noise: tuple[torch.Tensor, torch.Tensor] | None = None  # (ε_in, ε_out) of the last training pass
        # while set (by shared_noise), reuse that layer's last noise instead of drawing; a plain
        # attribute, not a registered submodule, so state dicts and parameters never see it
        object.__setattr__(self, "noise_source", None)

    def reset_parameters(self) -> None:
        """μ ~ U(−1/√n, 1/√n), σ = σ₀/√n (the paper's factorised initialisation)."""
        bound = 1.0 / math.sqrt(self.in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)
        if hasattr(self, "weight_sigma"):
            self._reset_sigma()

    def _reset_sigma(self) -> None:
        value = self.sigma0 / math.sqrt(self.in_features)
        with torch.no_grad():
            self.weight_sigma.fill_(value)
            if self.bias_sigma is not None:
                self.bias_sigma.fill_(value)

    def _noise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.noise_source is not None:
            if self.noise_source.last_noise is None:
                raise RuntimeError("shared noise: the source layer has not run a training pass yet")
            return self.noise_source.last_noise
        return factorised_noise(self.in_features, x), factorised_noise(self.out_features, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.linear(x, self.weight, self.bias)
        eps_in, eps_out = self._noise(x)
        self.last_noise = (eps_in, eps_out)
        # (μ + σ ⊙ ε_out ε_inᵀ) x = μx + ε_out ⊙ (σ (ε_in ⊙ x)): no outer product is formed
        out = F.linear(x, self.weight, self.bias) + eps_out * F.linear(x * eps_in, self.weight_sigma)
        if self.bias_sigma is not None:
            out = out + self.bias_sigma * eps_out
        return out

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, sigma0={self.sigma0}"


def noisy_layers(module: nn.Module) -> list[NoisyLinear]:
    return [m for m in module.modules() if isinstance(m, NoisyLinear)]


@contextmanager
def shared_noise(source: nn.Module, copy: nn.Module) -> Iterator[None]:
    """Inside the block, every noisy layer of ``copy`` uses the noise its counterpart in
    ``source`` (same position, same shape) drew in its last training pass. Run ``source`` first."""
    pairs = list(zip(noisy_layers(source), noisy_layers(copy)))
    if len(pairs) != len(noisy_layers(copy)) or len(pairs) != len(noisy_layers(source)) or any(
            (a.in_features, a.out_features) != (b.in_features, b.out_features) for a, b in pairs):
        raise ValueError("shared_noise needs two modules with the same noisy layers in the same order")
    for src, dst in pairs:
        object.__setattr__(dst, "noise_source", src)
    try:
        yield
    finally:
        for _, dst in pairs:
            object.__setattr__(dst, "noise_source", None)
