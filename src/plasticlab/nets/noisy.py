"""Factorised Gaussian noisy linear layer (Fortunato et al. 2018), the exploration of Rainbow/DER.

A subclass of ``nn.Linear`` on purpose: ``weight``/``bias`` are the means μ, so every tool that
treats Linear layers (resets of the last k layers, LayerNorm insertion, ReDo, weight norms)
handles noisy layers too. Noise is drawn from torch's global generator (checkpointed) on every
forward pass in training mode; in eval mode the layer is its mean (greedy evaluation).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _signed_sqrt(x: torch.Tensor) -> torch.Tensor:
    return x.sign() * x.abs().sqrt()


class NoisyLinear(nn.Linear):
    """y = (μ_w + σ_w ⊙ ε_out ε_inᵀ) x + μ_b + σ_b ⊙ ε_out, ε = f(N(0, 1)), f(x) = sgn(x)√|x|."""

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5, bias: bool = True):
        self.sigma0 = float(sigma0)
        super().__init__(in_features, out_features, bias=bias)
        self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
        self.bias_sigma = nn.Parameter(torch.empty(out_features)) if bias else None
        self._reset_sigma()

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.linear(x, self.weight, self.bias)
        eps_in = _signed_sqrt(torch.randn(self.in_features, device=x.device, dtype=x.dtype))
        eps_out = _signed_sqrt(torch.randn(self.out_features, device=x.device, dtype=x.dtype))
        # (μ + σ ⊙ ε_out ε_inᵀ) x = μx + ε_out ⊙ (σ (ε_in ⊙ x)): no outer product is formed
        out = F.linear(x, self.weight, self.bias) + eps_out * F.linear(x * eps_in, self.weight_sigma)
        if self.bias_sigma is not None:
            out = out + self.bias_sigma * eps_out
        return out

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, sigma0={self.sigma0}"
