"""Hare & Tortoise: the Tortoise is the EMA of the Hare's trajectory; resets copy, never alias."""

from __future__ import annotations

import copy

import pytest
import torch

from plasticlab import interventions
from tests.interventions.helpers import bn_mlp, make_context, sgd_step, snapshot


def test_tortoise_is_the_closed_form_ema_of_the_hare_trajectory():
    ema, k = 0.8, 6
    ht = interventions.build([{"name": "hare_tortoise", "ema": ema, "reset_every_steps": 10_000}])
    ctx = make_context(ht, make_net=bn_mlp)
    start = snapshot(ctx.net)  # the Tortoise starts as a copy of the Hare
    trajectory = []
    for step in range(k):
        sgd_step(ctx, ht, step)
        trajectory.append(snapshot(ctx.net))
    tortoise = ht.tortoise.state_dict()
    for key, value in tortoise.items():
        if not value.dtype.is_floating_point:  # BatchNorm's step counter is copied, not averaged
            assert torch.equal(value, trajectory[-1][key]) and int(value) == k
            continue
        # T_k = ema^k·T_0 + Σ_i (1 − ema)·ema^(k−i)·H_i, in float64
        expected = ema**k * start[key].double()
        for i, hare in enumerate(trajectory, start=1):
            expected = expected + (1 - ema) * ema ** (k - i) * hare[key].double()
        torch.testing.assert_close(value.double(), expected, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(value, trajectory[-1][key])  # the Tortoise lags the Hare
    assert "2.running_mean" in tortoise  # buffers were part of the check
    assert ht.eval_net(ctx) is ht.tortoise
    assert not any(p.requires_grad for p in ht.tortoise.parameters())


def test_reset_copies_tortoise_into_hare_without_sharing_memory():
    ht = interventions.build([{"name": "hare_tortoise", "ema": 0.5, "reset_every_steps": 3}])
    ctx = make_context(ht, make_net=bn_mlp)
    for step in range(2):
        sgd_step(ctx, ht, step)
    assert not torch.equal(ctx.net[1].weight, ht.tortoise[1].weight)
    sgd_step(ctx, ht, 2)  # the third step triggers the reset
    hare_state, tortoise_state = ctx.net.state_dict(), ht.tortoise.state_dict()
    for key, hare in hare_state.items():
        assert torch.equal(hare, tortoise_state[key]), key
        assert hare.data_ptr() != tortoise_state[key].data_ptr(), key
    tortoise_before = snapshot(ht.tortoise)
    with torch.no_grad():
        for value in ctx.net.state_dict().values():
            value.add_(1)
    assert all(torch.equal(v, tortoise_before[k]) for k, v in snapshot(ht.tortoise).items())
    hare_before = snapshot(ctx.net)
    with torch.no_grad():
        ht.tortoise[1].weight.add_(1.0)
    assert all(torch.equal(v, hare_before[k]) for k, v in snapshot(ctx.net).items())


def test_task_start_reset_and_optimizer_reset():
    ht = interventions.build([{"name": "hare_tortoise", "ema": 0.9, "reset_every_steps": 1000,
                               "reset_at_task_start": True, "reset_optimizer": True}])
    ctx = make_context(ht)
    for step in range(3):
        sgd_step(ctx, ht, step)
    hare_before = snapshot(ctx.net)
    ht.on_task_start(ctx, 0)  # never at the first task
    assert all(torch.equal(v, hare_before[k]) for k, v in snapshot(ctx.net).items())
    assert len(ctx.optimizer.state) == len(list(ctx.net.parameters()))
    ht.on_task_start(ctx, 1)
    assert all(torch.equal(v, ht.tortoise.state_dict()[k]) for k, v in ctx.net.state_dict().items())
    assert len(ctx.optimizer.state) == 0


def test_state_round_trip_restores_the_tortoise_and_the_run_continues_identically():
    spec = [{"name": "hare_tortoise", "ema": 0.9, "reset_every_steps": 5}]
    ht = interventions.build(spec)
    ctx = make_context(ht)
    for step in range(4):
        sgd_step(ctx, ht, step)
    state = ht.state_dict()
    saved = {k: v.clone() for k, v in state["tortoise"].items()}
    other = interventions.build(spec)
    other_ctx = make_context(other, seed=1)
    # what a resume does: restore the Hare, the optimiser and the step count, then the intervention
    other_ctx.net.load_state_dict(ctx.net.state_dict())
    other_ctx.optimizer.load_state_dict(copy.deepcopy(ctx.optimizer.state_dict()))  # as if read from disk
    other_ctx.step = ctx.step
    other.load_state_dict(state, other_ctx)
    for step in range(4, 7):  # crosses the reset at step 5
        sgd_step(ctx, ht, step)
        sgd_step(other_ctx, other, step)
    assert all(torch.equal(v, saved[k]) for k, v in state["tortoise"].items())  # a snapshot, not a view
    for key, value in ht.tortoise.state_dict().items():
        assert torch.equal(value, other.tortoise.state_dict()[key]), key
    assert other.tortoise is not other_ctx.net


@pytest.mark.parametrize("params, field", [({"ema": 1.0}, "ema"), ({"reset_every_steps": 0}, "reset_every_steps")])
def test_invalid_parameters_are_named(params, field):
    with pytest.raises(ValueError, match=field):
        interventions.build([{"name": "hare_tortoise", **params}])


def test_epoch_schedule_resets_after_every_kth_epoch_of_a_task_and_not_by_steps():
    ht = interventions.build([{"name": "hare_tortoise", "ema": 0.5, "reset_every_epochs": 2, "reset_every_steps": 1}])
    ctx = make_context(ht, make_net=bn_mlp)
    resets = []
    original = ht.reset_hare
    ht.reset_hare = lambda c: resets.append((c.task, epoch)) or original(c)
    for task in range(2):
        ctx.task = task
        for epoch in range(5):  # the trainer numbers epochs from 0 within each task
            sgd_step(ctx, ht, 10 * task + epoch)  # no step-based reset although reset_every_steps = 1
            ht.on_epoch_end(ctx, epoch)
    assert resets == [(0, 1), (0, 3), (1, 1), (1, 3)]  # after epochs 2 and 4 of each task
    hare, tortoise = ctx.net.state_dict(), ht.tortoise.state_dict()
    assert not all(torch.equal(hare[k], tortoise[k]) for k in hare)  # the last epoch (5th) did not reset
    with pytest.raises(ValueError, match="reset_every_epochs"):
        interventions.build([{"name": "hare_tortoise", "reset_every_epochs": 0}])
