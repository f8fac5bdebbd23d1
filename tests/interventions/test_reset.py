"""reset: the chosen layers become a fresh initialisation, nothing else changes."""

from __future__ import annotations

import pytest
import torch

from plasticlab import interventions
from plasticlab.nets import make_mlp
from tests.interventions.helpers import CLASSES, HIDDEN, INPUT, bn_mlp, make_context, sgd_step, snapshot


def test_last_layer_reset_equals_fresh_init_and_spares_the_rest():
    reset = interventions.build([{"name": "reset", "layers": 1}])
    ctx = make_context(reset)
    for step in range(3):
        sgd_step(ctx, reset, step)
    before = snapshot(ctx.net)
    head = [ctx.net[-1].weight, ctx.net[-1].bias]
    assert all(p in ctx.optimizer.state for p in head)

    torch.manual_seed(123)
    reset.on_task_start(ctx, 1)
    torch.manual_seed(123)
    expected_head = make_mlp(INPUT, HIDDEN, CLASSES)[-1]

    after = snapshot(ctx.net)
    head_keys = {f"{len(ctx.net) - 1}.weight", f"{len(ctx.net) - 1}.bias"}
    for key in before:
        if key in head_keys:
            assert not torch.equal(after[key], before[key])
        else:
            assert torch.equal(after[key], before[key]), key
    assert torch.equal(ctx.net[-1].weight, expected_head.weight)
    assert torch.equal(ctx.net[-1].bias, expected_head.bias)
    assert all(p not in ctx.optimizer.state for p in head)  # Adam moments of exactly those cleared
    assert ctx.net[1].weight in ctx.optimizer.state


def test_nothing_happens_at_the_first_task():
    reset = interventions.build([{"name": "reset", "layers": "all"}])
    ctx = make_context(reset)
    before = snapshot(ctx.net)
    reset.on_task_start(ctx, 0)
    assert all(torch.equal(v, before[k]) for k, v in snapshot(ctx.net).items())


def test_full_reset_every_n_steps_matches_a_fresh_network():
    reset = interventions.build([{"name": "reset", "layers": "all", "at_task_start": False, "every_steps": 2}])
    ctx = make_context(reset)
    sgd_step(ctx, reset, 0)
    torch.manual_seed(7)
    sgd_step(ctx, reset, 1)  # step 2: reset happens inside after_step, after the data was drawn
    torch.manual_seed(7)
    expected = make_mlp(INPUT, HIDDEN, CLASSES)
    assert all(torch.equal(a, b) for a, b in zip(ctx.net.parameters(), expected.parameters()))
    assert len(ctx.optimizer.state) == 0


def test_reset_is_in_place_and_the_optimiser_restarts_only_the_reset_layers():
    reset = interventions.build([{"name": "reset", "layers": 2}])
    ctx = make_context(reset)
    for step in range(3):
        sgd_step(ctx, reset, step)
    tensors_before = [id(p) for p in ctx.net.parameters()]
    reset.on_task_start(ctx, 1)
    sgd_step(ctx, reset, 3)
    # same tensor objects: the optimiser still updates the live network
    assert [id(p) for p in ctx.net.parameters()] == tensors_before
    assert [id(p) for p in ctx.optimizer.param_groups[0]["params"]] == tensors_before
    reset_params = {id(p) for module in (ctx.net[3], ctx.net[5]) for p in module.parameters()}  # last 2 Linear
    for param in ctx.net.parameters():
        state = ctx.optimizer.state[param]
        assert float(state["step"]) == (1 if id(param) in reset_params else 4)
        if id(param) in reset_params:
            # one Adam step from zero moments: m = (1 − β1)·g exactly
            torch.testing.assert_close(state["exp_avg"], 0.1 * param.grad, rtol=1e-6, atol=0)


def test_reset_without_optimizer_reset_keeps_the_moments():
    reset = interventions.build([{"name": "reset", "layers": 1, "reset_optimizer": False}])
    ctx = make_context(reset)
    sgd_step(ctx, reset, 0)
    moments = ctx.optimizer.state[ctx.net[-1].weight]["exp_avg"].clone()
    reset.on_task_start(ctx, 1)
    assert torch.equal(ctx.optimizer.state[ctx.net[-1].weight]["exp_avg"], moments)


def test_full_reset_also_resets_batchnorm_statistics():
    reset = interventions.build("reset")
    ctx = make_context(reset, make_net=bn_mlp)
    for step in range(3):
        sgd_step(ctx, reset, step)
    assert int(ctx.net[2].num_batches_tracked) == 3
    torch.manual_seed(11)
    reset.on_task_start(ctx, 1)
    torch.manual_seed(11)
    expected = bn_mlp()
    for key, value in expected.state_dict().items():
        assert torch.equal(ctx.net.state_dict()[key], value), key


def test_more_layers_than_the_network_has_is_an_error():
    reset = interventions.build([{"name": "reset", "layers": 4}])
    ctx = make_context(reset)  # three weight layers
    with pytest.raises(ValueError, match="layers=4"):
        reset.on_task_start(ctx, 1)


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match="'depth'"):
        interventions.build([{"name": "reset", "depth": 1}])


@pytest.mark.parametrize("layers", [0, -1, "some", True])
def test_bad_layer_count_is_rejected(layers):
    with pytest.raises(ValueError, match="layers"):
        interventions.build([{"name": "reset", "layers": layers}])
