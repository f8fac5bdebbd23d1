"""ReDo resets exactly the units with score ≤ τ: fresh in-weights, zero out-weights, zero Adam."""

from __future__ import annotations

import torch

from plasticlab import interventions
from plasticlab.interventions.redo import hidden_units, unit_scores
from plasticlab.nets import make_mlp
from tests.interventions.helpers import CLASSES, HIDDEN, INPUT, make_context, sgd_step


def test_scores_are_mean_abs_activation_over_the_layer_mean():
    torch.manual_seed(0)
    net = make_mlp((3,), [5], 2)
    x = torch.randn(7, 3)
    expected = torch.relu(net[1](x)).abs().mean(0)
    expected = expected / expected.mean()
    torch.testing.assert_close(unit_scores(net, x)[0], expected)
    assert len(hidden_units(make_mlp((3,), [4, 4, 4], 2))) == 3


def _manual_scores(net, x):
    """Scores from an explicit forward pass of the 2-hidden-layer MLP."""
    h1 = torch.relu(net[1](x.flatten(1)))
    h2 = torch.relu(net[3](h1))
    return [h.abs().mean(0) / h.abs().mean(0).mean() for h in (h1, h2)]


def test_recycles_exactly_the_dormant_units():
    tau = 0.1
    redo = interventions.build([{"name": "redo", "tau": tau, "every_steps": None}])
    ctx = make_context(redo)
    for step in range(2):
        sgd_step(ctx, redo, step)
    with torch.no_grad():  # kill units 2 and 5 of the first hidden layer: always negative pre-activation
        ctx.net[1].bias[[2, 5]] = -100.0
    x = torch.randn(32, *INPUT)
    with torch.no_grad():
        dormant = [torch.nonzero(s <= tau).flatten().tolist() for s in _manual_scores(ctx.net, x)]
    assert {2, 5} <= set(dormant[0])
    before = {k: v.clone() for k, v in ctx.net.state_dict().items()}
    adam_before = {id(p): {k: v.clone() for k, v in ctx.optimizer.state[p].items() if torch.is_tensor(v)}
                   for p in ctx.net.parameters()}

    torch.manual_seed(11)
    count = redo.apply(ctx, x)
    torch.manual_seed(11)
    fresh = make_mlp(INPUT, HIDDEN, CLASSES)

    assert count == len(dormant[0]) + len(dormant[1])

    def upstream_zeroed(rows: torch.Tensor, incoming: int) -> torch.Tensor:
        """Columns of the first layer's recycled units are zeroed after all in-weight resets."""
        rows = rows.clone()
        if incoming == 3:
            rows[:, dormant[0]] = 0.0
        return rows

    for (incoming, outgoing), units in zip(((1, 3), (3, 5)), dormant):
        keep = [i for i in range(HIDDEN[0]) if i not in units]
        w_in, w_out = ctx.net[incoming].weight, ctx.net[outgoing].weight
        assert torch.equal(w_in[units], upstream_zeroed(fresh[incoming].weight[units], incoming))
        assert torch.equal(ctx.net[incoming].bias[units], fresh[incoming].bias[units])
        assert torch.equal(w_in[keep], upstream_zeroed(before[f"{incoming}.weight"][keep], incoming))
        assert torch.all(w_out[:, units] == 0)
        adam_in, adam_out = ctx.optimizer.state[w_in], ctx.optimizer.state[w_out]
        assert torch.all(adam_in["exp_avg"][units] == 0) and torch.all(adam_in["exp_avg_sq"][units] == 0)
        assert torch.all(adam_out["exp_avg_sq"][:, units] == 0)
        assert torch.equal(adam_in["exp_avg_sq"][keep], upstream_zeroed(adam_before[id(w_in)]["exp_avg_sq"][keep], incoming))
    head_keep = [i for i in range(HIDDEN[1]) if i not in dormant[1]]
    assert torch.equal(ctx.net[5].weight[:, head_keep], before["5.weight"][:, head_keep])


def test_no_dormant_units_no_change_and_outputs_preserved_after_recycling():
    redo = interventions.build([{"name": "redo", "tau": 0.0, "every_steps": None}])
    ctx = make_context(redo)
    x = torch.randn(64, *INPUT)
    before = {k: v.clone() for k, v in ctx.net.state_dict().items()}
    alive = [s.min().item() for s in unit_scores(ctx.net, x)]
    if min(alive) > 0:
        assert redo.apply(ctx, x) == 0
        assert all(torch.equal(v, before[k]) for k, v in ctx.net.state_dict().items())
    with torch.no_grad():
        ctx.net[1].bias[0] = -100.0
    out_before = ctx.net(x)
    assert redo.apply(ctx, x) >= 1
    torch.testing.assert_close(ctx.net(x), out_before)  # zeroed out-weights: function unchanged
