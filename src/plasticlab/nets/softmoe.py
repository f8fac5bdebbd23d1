"""Soft MoE (Puigcerver et al. 2024) and a top-1 MoE baseline over tokens of a conv feature map,
as used for value-based deep RL by Obando-Ceron et al. (2024).

Tokens are the spatial positions of the last conv map ("per-conv" tokenisation): a (B, C, H, W)
map gives T = H·W tokens of width d = C. Soft MoE with routing matrix Φ ∈ R^{d × E·S}:

    logits = X Φ                      (B, T, E·S)
    D = softmax over tokens  (dim T)  dispatch weights: each slot is a convex mix of tokens
    C = softmax over slots   (dim E·S) combine weights: each token a convex mix of slot outputs
    X̃ = Dᵀ X,  Ỹ_slot = expert_e(X̃_slot) for the S slots of expert e,  Y = C Ỹ   (B, T, d)

Initialisation and experts follow Dopamine's ``labs/moes`` (``architectures/softmoe.py``,
``architectures/networks.py``): Φ is Flax's ``lecun_normal`` of a (d, E, S) kernel, i.e. a
normal truncated at two standard deviations with variance 1/(d·E) (Flax counts the expert axis
into the fan-in); there is no input normalisation. An expert is Dense(hidden) → ReLU → Dense(d);
plain layers are Glorot-uniform with zero biases, and in a noisy network (DER) the first layer is
a factorised noisy layer whose noise all experts share in one pass, as Dopamine's vmapped expert
module does with its single noise key.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from plasticlab.nets.noisy import factorised_noise

# Flax's truncated normal keeps the requested variance after truncation at ±2σ: σ is divided by
# the standard deviation of a unit normal truncated to [−2, 2].
_TRUNCATED_STD = 0.87962566103423978


class Tokenise(nn.Module):
    """(B, C, H, W) → (B, H·W, C): one token per spatial position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)


class Experts(nn.Module):
    """E independent two-layer MLPs applied to (B, E, S, d) slot inputs in one einsum each.

    With ``noisy`` the first layer is y = (μ + σ ⊙ ε_out ε_inᵀ) x + μ_b + σ_b ⊙ ε_out (Fortunato et
    al. 2018) with one (ε_in, ε_out) draw per forward pass for all experts and slots.
    """

    def __init__(self, n_experts: int, width: int, hidden: int, noisy: bool = False, sigma0: float = 0.1):
        super().__init__()
        self.n_experts, self.width, self.hidden = n_experts, width, hidden
        self.noisy, self.sigma0 = bool(noisy), float(sigma0)
        self.w1 = nn.Parameter(torch.empty(n_experts, width, hidden))
        self.b1 = nn.Parameter(torch.empty(n_experts, hidden))
        self.w2 = nn.Parameter(torch.empty(n_experts, hidden, width))
        self.b2 = nn.Parameter(torch.empty(n_experts, width))
        if self.noisy:
            self.w1_sigma = nn.Parameter(torch.empty(n_experts, width, hidden))
            self.b1_sigma = nn.Parameter(torch.empty(n_experts, hidden))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        if self.noisy:  # μ ~ U(±1/√fan_in), σ = σ₀/√fan_in (Dopamine's NoisyNetwork)
            bound = 1.0 / math.sqrt(self.width)
            nn.init.uniform_(self.w1, -bound, bound)
            nn.init.uniform_(self.b1, -bound, bound)
            self.w1_sigma.fill_(self.sigma0 / math.sqrt(self.width))
            self.b1_sigma.fill_(self.sigma0 / math.sqrt(self.width))
        else:
            self._glorot(self.w1, self.width, self.hidden)
            nn.init.zeros_(self.b1)
        self._glorot(self.w2, self.hidden, self.width)
        nn.init.zeros_(self.b2)

    @staticmethod
    def _glorot(weight: torch.Tensor, fan_in: int, fan_out: int) -> None:
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        nn.init.uniform_(weight, -bound, bound)

    def draw_noise(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """One factorised draw (ε_in, ε_out) shared by all experts in this pass; None without noise."""
        if not (self.noisy and self.training):
            return None
        return factorised_noise(self.width, like), factorised_noise(self.hidden, like)

    def params(self) -> ExpertParams:
        return ExpertParams(self.w1, self.b1, self.w2, self.b2, getattr(self, "w1_sigma", None),
                            getattr(self, "b1_sigma", None))

    def forward(self, slots: torch.Tensor) -> torch.Tensor:
        """(B, E, S, d) → (B, E, S, d): expert e on the S slots of position e."""
        return experts_on_slots(slots, self.params(), self.draw_noise(slots))


class ExpertParams(NamedTuple):
    """The experts' tensors (E leading): the solo module's, or one stacked member's slices."""

    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor
    w1_sigma: torch.Tensor | None = None
    b1_sigma: torch.Tensor | None = None


Noise = tuple[torch.Tensor, torch.Tensor] | None


def experts_on_slots(slots: torch.Tensor, p: ExpertParams, noise: Noise) -> torch.Tensor:
    """(B, E, S, d) → (B, E, S, d): expert e on the S slots of position e, with the pass's noise."""
    pre = torch.einsum("besd,edh->besh", slots, p.w1) + p.b1[:, None, :]
    if noise is not None:
        eps_in, eps_out = noise
        pre = pre + torch.einsum("besd,edh->besh", slots * eps_in, p.w1_sigma) * eps_out
        pre = pre + (p.b1_sigma * eps_out)[:, None, :]
    return torch.einsum("besh,ehd->besd", torch.relu(pre), p.w2) + p.b2[:, None, :]


def one_expert(expert: int, x: torch.Tensor, p: ExpertParams, noise: Noise) -> torch.Tensor:
    """Expert ``expert`` on (N, d) inputs, with the pass's shared noise if any."""
    pre = x @ p.w1[expert] + p.b1[expert]
    if noise is not None:
        eps_in, eps_out = noise
        pre = pre + ((x * eps_in) @ p.w1_sigma[expert]) * eps_out + p.b1_sigma[expert] * eps_out
    return torch.relu(pre) @ p.w2[expert] + p.b2[expert]


def soft_routing(tokens: torch.Tensor, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dispatch (softmax over tokens) and combine (softmax over slots) weights, (B, T, E·S) each."""
    logits = tokens @ phi
    return logits.softmax(dim=1), logits.softmax(dim=2)


def soft_moe(tokens: torch.Tensor, phi: torch.Tensor, n_experts: int, slots_per_expert: int, p: ExpertParams,
             noise: Noise) -> torch.Tensor:
    """Soft MoE on (B, T, d) tokens with router Φ (d, E·S) (the module docstring's equations)."""
    dispatch, combine = soft_routing(tokens, phi)
    slot_inputs = torch.einsum("bts,btd->bsd", dispatch, tokens)
    slot_inputs = slot_inputs.view(tokens.shape[0], n_experts, slots_per_expert, -1)
    slot_outputs = experts_on_slots(slot_inputs, p, noise).flatten(1, 2)
    return torch.einsum("bts,bsd->btd", combine, slot_outputs)


def top1_moe(tokens: torch.Tensor, router_weight: torch.Tensor, n_experts: int, p: ExpertParams,
             noise: Noise) -> torch.Tensor:
    """Each (B, T, d) token through the expert of largest router probability, scaled by it."""
    gates = F.linear(tokens, router_weight).softmax(dim=-1)               # (B, T, E)
    top_gate, top_expert = gates.max(dim=-1)                             # (B, T)
    flat, chosen = tokens.reshape(-1, tokens.shape[-1]), top_expert.reshape(-1)
    out = torch.zeros_like(flat)
    for expert in range(n_experts):  # each token through its chosen expert only
        rows = (chosen == expert).nonzero(as_tuple=True)[0]
        if len(rows):
            out = out.index_put((rows,), one_expert(expert, flat[rows], p, noise))
    return out.view_as(tokens) * top_gate.unsqueeze(-1)


def lecun_normal_router(width: int, n_experts: int, slots_per_expert: int) -> torch.Tensor:
    """Φ (d, E·S) as Flax's ``lecun_normal`` draws a (d, E, S) kernel: fan-in d·E, truncated at 2σ."""
    std = math.sqrt(1.0 / (width * n_experts)) / _TRUNCATED_STD
    phi = torch.empty(width, n_experts * slots_per_expert)
    nn.init.trunc_normal_(phi, std=std, a=-2.0 * std, b=2.0 * std)
    return phi


class SoftMoE(nn.Module):
    """Soft MoE layer on (B, T, d) tokens; returns (B, T, d)."""

    def __init__(self, width: int, n_experts: int, slots_per_expert: int, hidden: int = 512, noisy: bool = False,
                 sigma0: float = 0.1):
        super().__init__()
        if n_experts < 1 or slots_per_expert < 1:
            raise ValueError(f"SoftMoE needs n_experts >= 1 and slots_per_expert >= 1, got {n_experts}, {slots_per_expert}")
        self.n_experts, self.slots_per_expert = n_experts, slots_per_expert
        self.phi = nn.Parameter(torch.empty(width, n_experts * slots_per_expert))
        self.experts = Experts(n_experts, width, hidden, noisy, sigma0)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        self.phi.copy_(lecun_normal_router(self.phi.shape[0], self.n_experts, self.slots_per_expert))

    def routing(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return soft_routing(tokens, self.phi)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return soft_moe(tokens, self.phi, self.n_experts, self.slots_per_expert, self.experts.params(),
                        self.experts.draw_noise(tokens))


class Top1MoE(nn.Module):
    """Sparse baseline: each token goes to the expert with the largest router probability and its
    output is scaled by that probability (Switch-style routing, no capacity limit)."""

    def __init__(self, width: int, n_experts: int, hidden: int = 512, noisy: bool = False, sigma0: float = 0.1):
        super().__init__()
        self.n_experts = n_experts
        self.router = nn.Linear(width, n_experts, bias=False)
        self.experts = Experts(n_experts, width, hidden, noisy, sigma0)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return top1_moe(tokens, self.router.weight, self.n_experts, self.experts.params(),
                        self.experts.draw_noise(tokens))


__all__ = ["ExpertParams", "Experts", "SoftMoE", "Tokenise", "Top1MoE", "experts_on_slots", "lecun_normal_router",
           "one_expert", "soft_moe", "soft_routing", "top1_moe"]
