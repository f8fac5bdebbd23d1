"""Soft MoE and top-1 MoE layers of stacked seeds (the ``softmoe`` study's networks).

The MoE block runs member by member through the functions the solo layers run
(:func:`plasticlab.nets.softmoe.soft_moe`, :func:`~plasticlab.nets.softmoe.top1_moe`), on each
member's parameter slices copied to memory of their own and on tokens laid out as the solo network
lays them out (contiguous after a channels-last convolution, a transposed view after a
channels-first one; BLAS picks kernels by layout, and one copy per pass makes that moot). The
rest of the network (convolutions, the head) stays batched over members. Noisy experts draw
(ε_in, ε_out) per member from its own generator (:class:`~plasticlab.agents.member_layers.MemberNoise`),
in the solo layer's order.

A batched Soft MoE (a member axis on every product; the router's as one ``bmm`` over each
member's B·T tokens, since a broadcast product sums the router's gradient over B in another order)
was also exact, but not faster: at the MinAtar tier's sizes (64 tokens of 16, 8 experts of 128
units, batch 32) a MoE forward and backward is ~4 ms of arithmetic per member, so batching saves
nothing (3 members, one thread: 15.0 ms batched, 12.4 ms member by member, 12.0 ms as three solo
layers). Top-1 routing sends different tokens to each member's experts: member by member too.
"""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn

from plasticlab.nets.softmoe import ExpertParams, Experts, SoftMoE, Tokenise, Top1MoE, soft_moe, top1_moe
from plasticlab.supervised.stacking import _stack_parameter


class StackedTokenise(Tokenise):
    """(S, B, C, H, W) → (S, B, H·W, C): each member's conv positions as tokens (a view)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(3).transpose(2, 3)


class StackedExperts(nn.Module):
    """S members' experts: every tensor of :class:`Experts` with a leading member axis."""

    draws_member_noise = True

    def __init__(self, members: list[Experts]):
        super().__init__()
        first = members[0]
        self.n_experts, self.width, self.hidden = first.n_experts, first.width, first.hidden
        self.noisy, self.sigma0 = first.noisy, first.sigma0
        names = ("w1", "b1", "w2", "b2") + (("w1_sigma", "b1_sigma") if first.noisy else ())
        for name in names:
            setattr(self, name, _stack_parameter([getattr(member, name) for member in members]))
        object.__setattr__(self, "noise", None)  # a MemberNoise, set by the stacked agent

    def member_params(self) -> list[ExpertParams]:
        """Each member's :class:`ExpertParams`, slices in memory of their own (as its solo tensors)."""
        names = ExpertParams._fields if self.noisy else ExpertParams._fields[:4]
        slices = [[piece.clone() for piece in getattr(self, name).unbind(0)] for name in names]
        return [ExpertParams(*pieces) for pieces in zip(*slices)]

    def member_noise(self, like: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor] | None]:
        """The pass's (ε_in, ε_out) per member (drawn as :meth:`Experts.draw_noise` draws), or Nones."""
        members = len(self.w1)
        if not (self.noisy and self.training):
            return [None] * members
        if self.noise is None:
            raise RuntimeError("stacked noisy experts in training mode need their members' generators (MemberNoise)")
        eps_in, eps_out = self.noise.draw(self.width, like), self.noise.draw(self.hidden, like)
        return list(zip(eps_in.unbind(0), eps_out.unbind(0)))


def solo_layout(tokens: torch.Tensor, memory_format: torch.memory_format) -> torch.Tensor:
    """One member's (B, T, C) tokens laid out as the solo ``Tokenise`` lays them out."""
    if memory_format == torch.channels_last:
        return tokens.contiguous()  # an NHWC map's positions are contiguous tokens
    return tokens.transpose(1, 2).contiguous().transpose(1, 2)  # NCHW: a transposed view


class _StackedMoE(nn.Module):
    """Shared by both routings: the member loop and the solo network's memory format."""

    memory_format: torch.memory_format = torch.contiguous_format  # set by the stacked agent

    def run_members(self, tokens: torch.Tensor, solo: Callable[..., torch.Tensor]) -> torch.Tensor:
        noise = self.experts.member_noise(tokens)
        outputs = [solo(member, solo_layout(member_tokens, self.memory_format), params, member_noise)
                   for member, (member_tokens, params, member_noise)
                   in enumerate(zip(tokens.unbind(0), self.experts.member_params(), noise))]
        return torch.stack(outputs)


class StackedSoftMoE(_StackedMoE):
    def __init__(self, members: list[SoftMoE]):
        super().__init__()
        self.n_experts, self.slots_per_expert = members[0].n_experts, members[0].slots_per_expert
        self.phi = _stack_parameter([member.phi for member in members])
        self.experts = StackedExperts([member.experts for member in members])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        phis = [phi.clone() for phi in self.phi.unbind(0)]
        return self.run_members(tokens, lambda member, x, params, noise: soft_moe(
            x, phis[member], self.n_experts, self.slots_per_expert, params, noise))


class StackedTop1MoE(_StackedMoE):
    def __init__(self, members: list[Top1MoE]):
        super().__init__()
        self.n_experts = members[0].n_experts
        self.router = copy.deepcopy(members[0].router)  # holds the stacked router weight, (S, E, d)
        self.router.weight = _stack_parameter([member.router.weight for member in members])
        self.experts = StackedExperts([member.experts for member in members])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        routers = [weight.clone() for weight in self.router.weight.unbind(0)]
        return self.run_members(tokens, lambda member, x, params, noise: top1_moe(
            x, routers[member], self.n_experts, params, noise))


# registered by ``agents.members``
STACKERS = {Tokenise: lambda members: StackedTokenise(), SoftMoE: StackedSoftMoE, Top1MoE: StackedTop1MoE}
