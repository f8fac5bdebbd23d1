"""Soft MoE (Puigcerver et al. 2024) and a top-1 MoE baseline over tokens of a conv feature map,
as used for value-based deep RL by Obando-Ceron et al. (2024).

Tokens are the spatial positions of the last conv map ("per-conv" tokenisation): a (B, C, H, W)
map gives T = H·W tokens of width d = C. Soft MoE with routing matrix Φ ∈ R^{d × E·S}:

    logits = X Φ                      (B, T, E·S)
    D = softmax over tokens  (dim T)  dispatch weights: each slot is a convex mix of tokens
    C = softmax over slots   (dim E·S) combine weights: each token a convex mix of slot outputs
    X̃ = Dᵀ X,  Ỹ_slot = expert_e(X̃_slot) for the S slots of expert e,  Y = C Ỹ   (B, T, d)

Experts are Dense(hidden) → ReLU → Dense(d), evaluated for all experts at once with einsum. Φ is
LeCun-normal; there is no input normalisation by default (the paper's choice for RL).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Tokenise(nn.Module):
    """(B, C, H, W) → (B, H·W, C): one token per spatial position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)


class Experts(nn.Module):
    """E independent two-layer MLPs applied to (B, E, S, d) slot inputs in one einsum each."""

    def __init__(self, n_experts: int, width: int, hidden: int):
        super().__init__()
        self.n_experts, self.width, self.hidden = n_experts, width, hidden
        self.w1 = nn.Parameter(torch.empty(n_experts, width, hidden))
        self.b1 = nn.Parameter(torch.empty(n_experts, hidden))
        self.w2 = nn.Parameter(torch.empty(n_experts, hidden, width))
        self.b2 = nn.Parameter(torch.empty(n_experts, width))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Each expert initialised like a pair of ``nn.Linear`` layers (PyTorch's default)."""
        for weight, bias, fan_in in ((self.w1, self.b1, self.width), (self.w2, self.b2, self.hidden)):
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(weight, -bound, bound)
            nn.init.uniform_(bias, -bound, bound)

    def forward(self, slots: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(torch.einsum("besd,edh->besh", slots, self.w1) + self.b1[:, None, :])
        return torch.einsum("besh,ehd->besd", hidden, self.w2) + self.b2[:, None, :]


class SoftMoE(nn.Module):
    """Soft MoE layer on (B, T, d) tokens; returns (B, T, d)."""

    def __init__(self, width: int, n_experts: int, slots_per_expert: int, hidden: int = 512):
        super().__init__()
        if n_experts < 1 or slots_per_expert < 1:
            raise ValueError(f"SoftMoE needs n_experts >= 1 and slots_per_expert >= 1, got {n_experts}, {slots_per_expert}")
        self.n_experts, self.slots_per_expert = n_experts, slots_per_expert
        self.phi = nn.Parameter(torch.empty(width, n_experts * slots_per_expert))
        self.experts = Experts(n_experts, width, hidden)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.phi, std=1.0 / math.sqrt(self.phi.shape[0]))  # LeCun normal

    def routing(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dispatch (softmax over tokens) and combine (softmax over slots) weights, (B, T, E·S) each."""
        logits = tokens @ self.phi
        return logits.softmax(dim=1), logits.softmax(dim=2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        dispatch, combine = self.routing(tokens)
        slot_inputs = torch.einsum("bts,btd->bsd", dispatch, tokens)
        slot_inputs = slot_inputs.view(tokens.shape[0], self.n_experts, self.slots_per_expert, -1)
        slot_outputs = self.experts(slot_inputs).flatten(1, 2)
        return torch.einsum("bts,bsd->btd", combine, slot_outputs)


class Top1MoE(nn.Module):
    """Sparse baseline: each token goes to the expert with the largest router probability and its
    output is scaled by that probability (Switch-style routing, no capacity limit)."""

    def __init__(self, width: int, n_experts: int, hidden: int = 512):
        super().__init__()
        self.n_experts = n_experts
        self.router = nn.Linear(width, n_experts, bias=False)
        self.experts = Experts(n_experts, width, hidden)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        gates = self.router(tokens).softmax(dim=-1)                      # (B, T, E)
        top_gate, top_expert = gates.max(dim=-1)                         # (B, T)
        # every expert on every token (E ≤ 8 here), then keep the chosen one: simple and exact
        all_outputs = self.experts(tokens.unsqueeze(1).expand(-1, self.n_experts, -1, -1))  # (B, E, T, d)
        chosen = all_outputs.gather(1, top_expert[:, None, :, None].expand(-1, 1, -1, all_outputs.shape[-1]))
        return chosen.squeeze(1) * top_gate.unsqueeze(-1)


__all__ = ["Experts", "SoftMoE", "Tokenise", "Top1MoE"]
