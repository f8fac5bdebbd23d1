"""The C51 projection against a brute-force loop and its defining properties."""

from __future__ import annotations

import torch

from plasticlab.agents.distributional import categorical_projection


def brute_force_projection(probs, returns, discount, support):
    """Bellemare et al. 2017, Algorithm 1, one atom at a time."""
    v_min, v_max, n = float(support[0]), float(support[-1]), len(support)
    delta = (v_max - v_min) / (n - 1)
    out = torch.zeros_like(probs, dtype=torch.float64)
    for b in range(probs.shape[0]):
        for j in range(n):
            tz = min(max(float(returns[b]) + float(discount[b]) * float(support[j]), v_min), v_max)
            pos = (tz - v_min) / delta
            low, high = int(pos // 1), int(-(-pos // 1))
            if low == high:
                out[b, low] += probs[b, j]
            else:
                out[b, low] += probs[b, j] * (high - pos)
                out[b, high] += probs[b, j] * (pos - low)
    return out


def test_projection_matches_the_per_atom_algorithm():
    torch.manual_seed(0)
    support = torch.linspace(-10, 10, 51, dtype=torch.float64)
    probs = torch.rand(16, 51, dtype=torch.float64).softmax(-1)
    returns = torch.randn(16, dtype=torch.float64) * 6
    discount = torch.tensor([0.99 ** 3] * 12 + [0.0] * 4, dtype=torch.float64)
    projected = categorical_projection(probs, returns, discount, support)
    torch.testing.assert_close(projected, brute_force_projection(probs, returns, discount, support))
    torch.testing.assert_close(projected.sum(-1), torch.ones(16, dtype=torch.float64))


def test_identity_when_nothing_shifts_and_terminal_is_a_point_mass():
    support = torch.linspace(-2, 2, 5, dtype=torch.float64)
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.25, 0.15]], dtype=torch.float64)
    same = categorical_projection(probs, torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64), support)
    torch.testing.assert_close(same, probs)
    # terminal with reward 0.5: all mass at 0.5, split between atoms 0 and 1 (halfway)
    terminal = categorical_projection(probs, torch.tensor([0.5], dtype=torch.float64),
                                      torch.zeros(1, dtype=torch.float64), support)
    torch.testing.assert_close(terminal, torch.tensor([[0, 0, 0.5, 0.5, 0]], dtype=torch.float64))


def test_projection_preserves_the_mean_inside_the_support():
    """The linear split keeps the mean of every atom that lands inside [v_min, v_max]."""
    support = torch.linspace(-10, 10, 21, dtype=torch.float64)
    probs = torch.rand(8, 21, dtype=torch.float64).softmax(-1)
    returns = torch.rand(8, dtype=torch.float64)
    discount = torch.full((8,), 0.5, dtype=torch.float64)
    projected = categorical_projection(probs, returns, discount, support)
    expected_mean = returns + discount * (probs * support).sum(-1)
    torch.testing.assert_close((projected * support).sum(-1), expected_mean)
