"""The plasticity probe against closed forms: least squares for a linear model, the target
variance for a network whose hidden units are all dead."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from plasticlab.metrics.probe import ProbeConfig, fit, plasticity_probe
from plasticlab.nets import make_mlp


def test_fitting_a_linear_model_reaches_the_least_squares_loss():
    torch.manual_seed(0)
    x = torch.randn(200, 5)
    y = torch.randn(200, 2)
    design = torch.cat([x, torch.ones(200, 1)], dim=1).double()
    solution = torch.linalg.lstsq(design, y.double()).solution
    best = float(((design @ solution - y.double()) ** 2).mean())
    linear = nn.Linear(5, 2)
    with torch.no_grad():
        start = float(((linear(x) - y) ** 2).mean())
    assert start > 1.3 * best  # the fit has real work to do
    loss = fit(linear, x, y, "mse", ProbeConfig(steps=6000, lr=1e-3, batch_size=200))
    assert loss == pytest.approx(best, rel=1e-3)


def test_dead_network_cannot_fit_beyond_the_target_variance_and_is_left_untouched():
    torch.manual_seed(1)

    def make() -> nn.Module:
        return make_mlp((6,), [32, 32], 3)

    dead = make()
    with torch.no_grad():
        dead[1].bias.fill_(-100.0)  # every first-layer unit is off for every input
    before = {k: v.clone() for k, v in dead.state_dict().items()}
    inputs = torch.rand(256, 6)
    result = plasticity_probe(dead, make, inputs, ProbeConfig(steps=300, lr=3e-3))
    # constant output: the best it can do is predict the mean, i.e. a loss equal to the variance
    assert result["probe_regression_loss"] == pytest.approx(result["target_variance"], rel=0.05)
    assert result["fresh_regression_loss"] < result["probe_regression_loss"]
    assert result["regression_loss_ratio"] > 1.0
    assert result["probe_relabel_accuracy"] < result["fresh_relabel_accuracy"]
    assert result["plasticity"] == pytest.approx(result["target_variance"] - result["probe_regression_loss"])
    assert all(torch.equal(v, before[k]) for k, v in dead.state_dict().items())


def test_probe_is_deterministic_for_a_seed():
    torch.manual_seed(2)
    net = make_mlp((4,), [8], 2)
    inputs = torch.rand(64, 4)
    make = lambda: make_mlp((4,), [8], 2)  # noqa: E731
    a = plasticity_probe(net, make, inputs, ProbeConfig(steps=50, seed=3))
    b = plasticity_probe(net, make, inputs, ProbeConfig(steps=50, seed=3))
    assert a == b
