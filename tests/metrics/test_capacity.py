"""Target-fitting capacity (Lyle et al. 2022) on cases with known answers."""

from __future__ import annotations

import copy

import pytest
import torch

from plasticlab.metrics.capacity import CapacityConfig, capacity_probe, random_network_targets, target_fitting_loss
from plasticlab.nets import make_mlp


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return make_mlp((6,), [16], 3)


def test_a_network_equal_to_the_target_network_fits_it_exactly():
    inputs = torch.randn(64, 6)
    target_net = _net(1)
    targets = random_network_targets(target_net, inputs)
    config = CapacityConfig(steps=50, seed=0)
    # zero loss, zero gradient, so Adam never moves it: the loss stays exactly zero
    assert target_fitting_loss(copy.deepcopy(target_net), inputs, targets, config) == 0.0
    assert target_fitting_loss(_net(2), inputs, targets, config) > 0.0


def test_probe_reports_losses_variance_and_ratio_and_leaves_the_network_unchanged():
    inputs = torch.randn(64, 6)
    net = _net(3)
    before = copy.deepcopy(net.state_dict())
    result = capacity_probe(net, lambda: _net(4), lambda k: _net(10 + k), inputs, CapacityConfig(steps=30, targets=2))
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    manual_var = sum(float(random_network_targets(_net(10 + k), inputs).var(dim=0, unbiased=False).mean())
                     for k in range(2)) / 2
    assert result["capacity_target_variance"] == pytest.approx(manual_var, rel=1e-5)
    assert result["capacity_loss_ratio"] == pytest.approx(result["capacity_probe_loss"] / result["capacity_fresh_loss"])
    again = capacity_probe(net, lambda: _net(4), lambda k: _net(10 + k), inputs, CapacityConfig(steps=30, targets=2))
    assert again == result  # deterministic
    own = capacity_probe(net, lambda: _net(4), lambda k: copy.deepcopy(net), inputs, CapacityConfig(steps=30))
    assert own["capacity_probe_loss"] == 0.0 and own["capacity_fresh_loss"] > 0.0
