"""InFeR's regulariser on hand-computed cases: α · batch mean of ‖g(x; θ) − β·g(x; θ₀)‖², summed
over the heads (Lyle et al. 2022), and per member for stacked seeds."""

from __future__ import annotations

import pytest
import torch

from plasticlab import interventions
from plasticlab.interventions.infer import infer_loss
from tests.interventions.helpers import INPUT, make_context


def test_loss_is_alpha_times_the_batch_mean_of_the_squared_norm_over_heads():
    prediction = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    target = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    # per sample: 1² + 2² = 5 and 2² + 3² = 13; mean 9; × α = 0.5
    assert infer_loss(prediction, target, alpha=0.5).item() == pytest.approx(4.5)
    stacked = torch.stack([prediction, prediction + 1])  # a second member: (2² + 3²) and (3² + 4²) → mean 19
    assert infer_loss(stacked, torch.stack([target, target]), alpha=0.5).item() == pytest.approx(0.5 * (9 + 19))


def test_the_target_is_beta_times_the_frozen_initial_heads():
    alpha, beta = 0.1, 3.0
    infer = interventions.build([{"name": "infer", "heads": 2, "alpha": alpha, "beta": beta}])
    ctx = make_context(infer)
    x = torch.randn(5, *INPUT)
    ctx.net(x)
    with torch.no_grad():
        g0 = ctx.net.aux(ctx.net.features)  # at initialisation the live heads are the initial heads
    # g − β·g₀ = (1 − β)·g₀ at initialisation
    expected = alpha * float((((1 - beta) * g0) ** 2).sum(dim=1).mean())
    assert infer.loss(ctx, x).item() == pytest.approx(expected, rel=1e-6)
    assert expected > 0  # with β ≠ 1 the regulariser pulls the heads away from their initial outputs
