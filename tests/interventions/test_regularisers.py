"""l2 and l2_init: their gradients against the closed forms 2·c·θ and 2·c·(θ − θ₀)."""

from __future__ import annotations

import pytest
import torch

from plasticlab import interventions
from tests.interventions.helpers import make_context, sgd_step


def test_l2_gradient_is_two_coef_theta():
    l2 = interventions.build([{"name": "l2", "coef": 0.3}])
    ctx = make_context(l2)
    ctx.optimizer.zero_grad()
    l2.loss(ctx, torch.zeros(1)).backward()
    for param in ctx.net.parameters():
        torch.testing.assert_close(param.grad, 2 * 0.3 * param.detach())


def test_l2_init_gradient_points_to_the_initial_weights_of_every_tensor():
    reg = interventions.build([{"name": "l2_init", "coef": 0.5}])
    ctx = make_context(reg)
    initial = [p.detach().clone() for p in ctx.net.parameters()]
    for step in range(3):
        sgd_step(ctx, reg, step)
    assert reg.loss(ctx, torch.zeros(1)).item() > 0
    ctx.optimizer.zero_grad()
    reg.loss(ctx, torch.zeros(1)).backward()
    tensors = list(ctx.net.parameters())
    assert len(tensors) == 6  # all weights and biases, not only the last tensor
    for param, start in zip(tensors, initial):
        torch.testing.assert_close(param.grad, 2 * 0.5 * (param.detach() - start))


def test_l2_init_is_zero_at_initialisation_and_survives_a_state_round_trip():
    reg = interventions.build([{"name": "l2_init"}])
    ctx = make_context(reg)
    assert reg.loss(ctx, torch.zeros(1)).item() == 0.0
    state = reg.state_dict()
    other = interventions.build([{"name": "l2_init"}])
    other_ctx = make_context(other, seed=3)
    other.load_state_dict(state, other_ctx)
    assert all(torch.equal(a, b) for a, b in zip(other._initial, reg._initial))


@pytest.mark.parametrize("name", ["l2", "l2_init"])
def test_negative_coefficient_is_rejected(name):
    with pytest.raises(ValueError, match="coef"):
        interventions.build([{"name": name, "coef": -1.0}])
