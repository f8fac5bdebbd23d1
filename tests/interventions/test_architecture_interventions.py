"""crelu, plasticity_injection and infer: their defining properties."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from plasticlab import interventions
from plasticlab.interventions.crelu import CReLU
from plasticlab.nets import make_mlp
from tests.interventions.helpers import INPUT, make_context, sgd_step


def test_crelu_concatenates_both_signs_and_widens_the_next_layer():
    net = interventions.build("crelu").build(make_mlp((4,), [6, 5], 3))
    assert [type(m) for m in net] == [nn.Flatten, nn.Linear, CReLU, nn.Linear, CReLU, nn.Linear]
    assert net[3].in_features == 12 and net[5].in_features == 10
    x = torch.randn(9, 6)
    torch.testing.assert_close(CReLU()(x), torch.cat([x.clamp(min=0), (-x).clamp(min=0)], dim=1))
    hidden = net[2](net[1](torch.randn(50, 4)))
    assert torch.all((hidden[:, :6] > 0) | (hidden[:, 6:] > 0) | (hidden[:, :6] == hidden[:, 6:]))
    assert net(torch.randn(2, 4)).shape == (2, 3)


def _trainable(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def test_injection_keeps_outputs_and_trainable_count_then_trains_only_the_new_head():
    injection = interventions.build([{"name": "plasticity_injection", "at_task": 1, "head_layers": 1}])
    ctx = make_context(injection)
    for step in range(3):
        sgd_step(ctx, injection, step)
    x = torch.randn(10, *INPUT)
    out_before, count_before = ctx.net(x).detach(), _trainable(ctx.net)
    injection.on_task_start(ctx, 1)
    torch.testing.assert_close(ctx.net(x), out_before, rtol=0, atol=1e-6)
    assert _trainable(ctx.net) == count_before
    head_before = [p.clone() for p in ctx.net.head.parameters()]
    new_before = [p.clone() for p in ctx.net.new_head.parameters()]
    frozen_before = [p.clone() for p in ctx.net.frozen_new_head.parameters()]
    encoder_before = [p.clone() for p in ctx.net.encoder.parameters()]
    sgd_step(ctx, injection, 99)
    assert all(torch.equal(a, b) for a, b in zip(ctx.net.head.parameters(), head_before))
    assert all(torch.equal(a, b) for a, b in zip(ctx.net.frozen_new_head.parameters(), frozen_before))
    assert any(not torch.equal(a, b) for a, b in zip(ctx.net.new_head.parameters(), new_before))
    assert any(not torch.equal(a, b) for a, b in zip(ctx.net.encoder.parameters(), encoder_before))


def test_injection_state_survives_a_checkpoint_round_trip():
    spec = [{"name": "plasticity_injection", "at_step": 2}]
    injection = interventions.build(spec)
    ctx = make_context(injection)
    for step in range(3):
        sgd_step(ctx, injection, step)
    assert bool(ctx.net.injected)
    other = interventions.build(spec)
    other_ctx = make_context(other, seed=5)
    other_ctx.net.load_state_dict(ctx.net.state_dict())
    other.load_state_dict(other.state_dict(), other_ctx)
    assert bool(other_ctx.net.injected) and _trainable(other_ctx.net) == _trainable(ctx.net)
    assert not any(p.requires_grad for p in other_ctx.net.head.parameters())
    with pytest.raises(ValueError, match="exactly one"):
        interventions.build([{"name": "plasticity_injection", "at_step": 5, "at_task": 1}])


def test_infer_loss_is_zero_at_init_and_regresses_the_scaled_initial_outputs():
    infer = interventions.build([{"name": "infer", "heads": 4, "alpha": 0.5, "beta": 1.0}])
    ctx = make_context(infer)
    x = torch.randn(16, *INPUT)
    ctx.net(x)
    assert infer.loss(ctx, x).item() == pytest.approx(0.0, abs=1e-12)
    for step in range(5):
        sgd_step(ctx, infer, step)
    ctx.net(x)
    with torch.no_grad():
        # α · batch mean of the squared norm over the heads (summed over heads, as in the paper)
        expected = 0.5 * ((ctx.net.auxiliary(x) - infer._initial.auxiliary(x)) ** 2).sum(dim=1).mean()
    ctx.net(x)
    torch.testing.assert_close(infer.loss(ctx, x), expected)
    # the last weight layer of the network is still the main head (what last-layer resets touch)
    from plasticlab.nets import weight_layers

    assert weight_layers(ctx.net)[-1][1] is ctx.net.body[-1]
