"""layernorm rewrites every hidden layer; weight_decay is AdamW's decoupled decay."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from plasticlab import interventions
from plasticlab.interventions import Composite
from plasticlab.interventions.crelu import CReLU
from plasticlab.nets import make_mlp


def test_layernorm_normalises_every_hidden_preactivation_and_spares_the_head():
    plain = make_mlp((5,), [16, 12, 7], 3)
    head, head_weight = plain[-1], plain[-1].weight.detach().clone()
    net = interventions.build("layernorm").build(plain)
    norms = [m for m in net if isinstance(m, nn.LayerNorm)]
    assert [n.normalized_shape for n in norms] == [(16,), (12,), (7,)]
    assert [type(m) for m in net] == [nn.Flatten] + [nn.Linear, nn.LayerNorm, nn.ReLU] * 3 + [nn.Linear]
    assert net[-1] is head and torch.equal(head.weight, head_weight)
    captured = []
    for norm in norms:
        norm.register_forward_hook(lambda module, args, out: captured.append(out.detach()))
    net(torch.randn(32, 5) * 10 + 3)
    for out in captured:
        torch.testing.assert_close(out.mean(dim=1), torch.zeros(32), atol=1e-5, rtol=0)
        torch.testing.assert_close(out.var(dim=1, unbiased=False), torch.ones(32), atol=1e-3, rtol=0)


def test_layernorm_without_affine_is_idempotent_and_keeps_layer_names():
    ln = interventions.build([{"name": "layernorm", "elementwise_affine": False}])
    net = ln.build(make_mlp((4,), [6, 5], 2))
    assert sum(p.numel() for p in net.parameters()) == (4 * 6 + 6) + (6 * 5 + 5) + (5 * 2 + 2)
    assert sum(isinstance(m, nn.LayerNorm) for m in ln.build(net).modules()) == 2  # no second insertion
    named = nn.Sequential(OrderedDict(fc=nn.Linear(3, 4), act=nn.Tanh(), inner=nn.Sequential(nn.Linear(4, 4), nn.GELU()),
                                      out=nn.Linear(4, 2)))
    ln.build(named)
    assert list(named._modules) == ["fc", "fc_norm", "act", "inner", "out"]
    assert [type(m) for m in named.inner] == [nn.Linear, nn.LayerNorm, nn.GELU]


def test_layernorm_after_crelu_normalises_before_the_crelu():
    net = interventions.build("crelu+layernorm").build(make_mlp((4,), [6], 3))
    assert [type(m) for m in net] == [nn.Flatten, nn.Linear, nn.LayerNorm, CReLU, nn.Linear]
    assert net(torch.randn(2, 4)).shape == (2, 3)


def test_layernorm_on_convolutions_uses_one_group():
    net = interventions.build("layernorm").build(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 2)))
    assert isinstance(net[1], nn.GroupNorm) and net[1].num_groups == 1 and net[1].num_channels == 4
    assert net(torch.randn(2, 1, 6, 6)).shape == (2, 2)


def test_weight_decay_shrinks_a_zero_gradient_parameter_by_lr_times_coef():
    decay = interventions.build([{"name": "weight_decay", "coef": 0.1}])
    param = nn.Parameter(torch.full((4,), 2.0))
    optimizer = torch.optim.AdamW([param], **decay.optimizer_kwargs({"lr": 0.01, "weight_decay": 0.0}))
    param.grad = torch.zeros(4)
    optimizer.step()
    torch.testing.assert_close(param.detach(), torch.full((4,), 2.0 * (1 - 0.01 * 0.1)), rtol=0, atol=1e-7)


def test_composition_applies_both_and_unknown_names_are_named():
    combined = interventions.build("layernorm+weight_decay")
    assert isinstance(combined, Composite)
    assert [p.name for p in combined.parts] == ["layernorm", "weight_decay"]
    assert combined.optimizer_kwargs({"lr": 1.0})["weight_decay"] == 1e-4
    with pytest.raises(KeyError, match="unknown intervention 'teleport'"):
        interventions.build("layernorm+teleport")
    with pytest.raises(ValueError, match="'strength'"):
        interventions.build([{"name": "weight_decay", "strength": 1}])
    none = interventions.build("none")
    net = make_mlp((3,), [4], 2)
    assert none.build(net) is net and none.optimizer_kwargs({"lr": 1.0}) == {"lr": 1.0}
