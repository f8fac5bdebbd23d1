"""The categorical (C51) projection of Bellemare et al. 2017, used by DER's loss.

Target atoms r + γ^K z_j, clipped to [v_min, v_max], are split linearly between their two
neighbouring support atoms; the result is the L2 (Cramér) projection of the shifted and scaled
distribution onto the fixed support.
"""

from __future__ import annotations

import torch


def categorical_projection(next_probs: torch.Tensor, returns: torch.Tensor, discount: torch.Tensor,
                           support: torch.Tensor) -> torch.Tensor:
    """Project ``returns + discount · Z'`` (Z' ~ next_probs on ``support``) onto ``support``.

    Shapes: next_probs (B, N), returns (B,), discount (B,) (0 at terminals), support (N,) evenly
    spaced. Returns (B, N) probabilities. Vectorised with one scatter-add per neighbour.
    """
    batch, atoms = next_probs.shape
    v_min, v_max = float(support[0]), float(support[-1])
    delta = (v_max - v_min) / (atoms - 1)
    target_atoms = (returns[:, None] + discount[:, None] * support[None, :]).clamp(v_min, v_max)
    position = (target_atoms - v_min) / delta
    lower = position.floor().long().clamp(0, atoms - 1)
    upper = position.ceil().long().clamp(0, atoms - 1)
    upper_weight = position - lower.to(position.dtype)
    lower_weight = 1.0 - upper_weight
    # an atom landing exactly on a support point has lower == upper: all mass goes there
    projected = torch.zeros_like(next_probs)
    projected.scatter_add_(1, lower, next_probs * lower_weight)
    projected.scatter_add_(1, upper, next_probs * upper_weight)
    return projected
