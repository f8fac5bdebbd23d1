"""shrink_perturb: θ ← λθ + σ·noise in each of its three documented forms."""

from __future__ import annotations

import pytest
import torch

from plasticlab import interventions
from plasticlab.nets import make_mlp
from tests.interventions.helpers import CLASSES, HIDDEN, INPUT, make_context, sgd_step, snapshot


def _trained(spec):
    intervention = interventions.build(spec)
    ctx = make_context(intervention)
    for step in range(3):
        sgd_step(ctx, intervention, step)
    return intervention, ctx


def test_fresh_init_noise_is_a_scaled_new_initialisation():
    sp, ctx = _trained([{"name": "shrink_perturb", "shrink": 0.4, "perturb": 0.1}])
    before = [p.detach().clone() for p in ctx.net.parameters()]
    torch.manual_seed(5)
    sp.on_task_start(ctx, 1)
    torch.manual_seed(5)
    fresh = list(make_mlp(INPUT, HIDDEN, CLASSES).parameters())
    for after, old, new in zip(ctx.net.parameters(), before, fresh):
        torch.testing.assert_close(after, 0.4 * old + 0.1 * new, rtol=0, atol=1e-7)


def test_gaussian_noise_form():
    sp, ctx = _trained([{"name": "shrink_perturb", "shrink": 0.5, "perturb": 0.01, "noise": "gaussian"}])
    before = [p.detach().clone() for p in ctx.net.parameters()]
    torch.manual_seed(9)
    sp.on_task_start(ctx, 2)
    torch.manual_seed(9)
    for after, old in zip(ctx.net.parameters(), before):
        torch.testing.assert_close(after, 0.5 * old + 0.01 * torch.randn(old.shape), rtol=0, atol=1e-7)


def test_initial_form_pulls_toward_the_stored_initial_weights():
    sp = interventions.build([{"name": "shrink_perturb", "shrink": 0.7, "perturb": 0.0, "noise": "initial"}])
    ctx = make_context(sp)
    initial = [p.detach().clone() for p in ctx.net.parameters()]
    for step in range(3):
        sgd_step(ctx, sp, step)
    before = [p.detach().clone() for p in ctx.net.parameters()]
    sp.on_task_start(ctx, 1)
    for after, old, start in zip(ctx.net.parameters(), before, initial):
        torch.testing.assert_close(after, 0.7 * old + 0.3 * start, rtol=0, atol=1e-7)


def test_initial_form_with_noise_adds_sigma_times_standard_normal():
    sp = interventions.build([{"name": "shrink_perturb", "shrink": 0.6, "perturb": 0.05, "noise": "initial"}])
    ctx = make_context(sp)
    initial = [p.detach().clone() for p in ctx.net.parameters()]
    for step in range(3):
        sgd_step(ctx, sp, step)
    before = [p.detach().clone() for p in ctx.net.parameters()]
    torch.manual_seed(3)
    sp.on_task_start(ctx, 1)
    torch.manual_seed(3)
    for after, old, start in zip(ctx.net.parameters(), before, initial):
        expected = 0.6 * old + 0.4 * start + 0.05 * torch.randn(old.shape)
        torch.testing.assert_close(after, expected, rtol=0, atol=1e-6)


def test_every_steps_applies_inside_after_step_only_on_multiples():
    sp = interventions.build([{"name": "shrink_perturb", "shrink": 0.5, "perturb": 0.0, "noise": "gaussian",
                               "at_task_start": False, "every_steps": 2}])
    ctx = make_context(sp)
    sgd_step(ctx, sp, 0)  # step 1: no shrink
    before = [p.detach().clone() for p in ctx.net.parameters()]
    sp.on_task_start(ctx, 1)  # at_task_start off
    assert all(torch.equal(a, b) for a, b in zip(ctx.net.parameters(), before))
    ctx.step += 1
    sp.after_step(ctx)  # step 2: shrink by one half, no noise
    for after, old in zip(ctx.net.parameters(), before):
        torch.testing.assert_close(after, 0.5 * old, rtol=0, atol=0)


def test_initial_weights_survive_a_state_round_trip():
    spec = [{"name": "shrink_perturb", "shrink": 0.5, "perturb": 0.0, "noise": "initial"}]
    sp = interventions.build(spec)
    ctx = make_context(sp)
    initial = [p.detach().clone() for p in ctx.net.parameters()]
    other = interventions.build(spec)
    other_ctx = make_context(other, seed=1)  # a different initialisation
    other.load_state_dict(sp.state_dict(), other_ctx)
    with torch.no_grad():
        for p in other_ctx.net.parameters():
            p.zero_()
    other.on_task_start(other_ctx, 1)  # θ = 0 → θ = 0.5·θ₀ of the *first* run
    for after, start in zip(other_ctx.net.parameters(), initial):
        torch.testing.assert_close(after, 0.5 * start, rtol=0, atol=0)


def test_shrink_one_perturb_zero_is_the_identity_and_task_zero_is_skipped():
    sp, ctx = _trained([{"name": "shrink_perturb", "shrink": 1.0, "perturb": 0.0}])
    before = snapshot(ctx.net)
    sp.on_task_start(ctx, 1)
    assert all(torch.equal(v, before[k]) for k, v in snapshot(ctx.net).items())
    sp2, ctx2 = _trained([{"name": "shrink_perturb"}])
    before2 = snapshot(ctx2.net)
    sp2.on_task_start(ctx2, 0)
    assert all(torch.equal(v, before2[k]) for k, v in snapshot(ctx2.net).items())


@pytest.mark.parametrize("params, field", [({"shrink": 1.5}, "shrink"), ({"perturb": -1.0}, "perturb"), ({"noise": "pink"}, "noise")])
def test_invalid_parameters_are_named(params, field):
    with pytest.raises(ValueError, match=field):
        interventions.build([{"name": "shrink_perturb", **params}])
