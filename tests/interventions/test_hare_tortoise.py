"""Hare & Tortoise: the Tortoise is the EMA of the Hare's trajectory; resets copy, never alias."""

from __future__ import annotations

import torch

from plasticlab import interventions
from tests.interventions.helpers import make_context, sgd_step, snapshot


def test_tortoise_is_the_closed_form_ema_of_the_hare_trajectory():
    ema = 0.8
    ht = interventions.build([{"name": "hare_tortoise", "ema": ema, "reset_every_steps": 10_000}])
    ctx = make_context(ht)
    expected = snapshot(ctx.net)  # Tortoise starts as a copy of the Hare
    for step in range(6):
        sgd_step(ctx, ht, step)
        hare = snapshot(ctx.net)
        expected = {k: ema * expected[k] + (1 - ema) * hare[k] for k in expected}
    for key, value in ht.tortoise.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=1e-6, atol=1e-7)
    assert ht.eval_net(ctx) is ht.tortoise


def test_reset_copies_tortoise_into_hare_without_sharing_memory():
    ht = interventions.build([{"name": "hare_tortoise", "ema": 0.5, "reset_every_steps": 3}])
    ctx = make_context(ht)
    for step in range(3):
        sgd_step(ctx, ht, step)  # the third step triggers the reset
    for hare, tortoise in zip(ctx.net.parameters(), ht.tortoise.parameters()):
        assert torch.equal(hare, tortoise)
        assert hare.data_ptr() != tortoise.data_ptr()
    tortoise_before = snapshot(ht.tortoise)
    with torch.no_grad():
        next(ctx.net.parameters()).add_(1.0)
    assert all(torch.equal(v, tortoise_before[k]) for k, v in snapshot(ht.tortoise).items())


def test_state_round_trip_restores_the_tortoise():
    ht = interventions.build([{"name": "hare_tortoise", "ema": 0.9, "reset_every_steps": 100}])
    ctx = make_context(ht)
    for step in range(4):
        sgd_step(ctx, ht, step)
    state = ht.state_dict()
    other = interventions.build([{"name": "hare_tortoise", "ema": 0.9, "reset_every_steps": 100}])
    other_ctx = make_context(other, seed=1)
    other.load_state_dict(state, other_ctx)
    for a, b in zip(ht.tortoise.state_dict().values(), other.tortoise.state_dict().values()):
        assert torch.equal(a, b)
