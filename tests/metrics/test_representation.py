"""Representation metrics on matrices and activations with known answers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from plasticlab.metrics import (
    dormant_fraction,
    dormant_scores,
    effective_rank,
    feature_norm,
    gradient_norm,
    parameter_norm,
    penultimate_features,
    preactivation_stats,
    saturated_fraction,
    srank,
    stable_rank,
)


def _with_singular_values(sigma: list[float], rows: int = 12, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(rows, len(sigma), generator=generator, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(len(sigma), len(sigma), generator=generator, dtype=torch.float64))
    return u @ torch.diag(torch.tensor(sigma, dtype=torch.float64)) @ v.T


def test_ranks_from_known_singular_values():
    sigma = [10.0, 5.0, 3.0, 1.0, 0.5, 0.0]
    m = _with_singular_values(sigma)
    total = sum(sigma)
    # cumulative shares: 10/19.5, 15/19.5, 18/19.5, 19/19.5, 19.5/19.5
    assert srank(m, delta=0.01) == 5
    assert srank(m, delta=0.05) == 4  # 19/19.5 = 0.974 ≥ 0.95
    assert srank(m, delta=0.3) == 2  # 15/19.5 = 0.769 ≥ 0.7 > 10/19.5
    p = [s / total for s in sigma if s > 0]
    assert effective_rank(m) == pytest.approx(math.exp(-sum(q * math.log(q) for q in p)), rel=1e-9)
    assert stable_rank(m) == pytest.approx(sum(s * s for s in sigma) / 100.0, rel=1e-9)
    assert effective_rank(_with_singular_values([2.0, 2.0, 2.0])) == pytest.approx(3.0)


def test_dormant_and_saturated_units_on_hand_built_activations():
    activations = torch.tensor([[1.0, 0.0, 2.0, 0.05], [3.0, 0.0, 2.0, 0.05]])
    scores = dormant_scores(activations)  # activity (2, 0, 2, 0.05), mean 1.0125
    torch.testing.assert_close(scores, torch.tensor([2.0, 0.0, 2.0, 0.05]) / 1.0125)
    assert dormant_fraction(activations, tau=0.0) == 0.25
    assert dormant_fraction(activations, tau=0.1) == 0.5
    assert saturated_fraction(torch.tensor([[0.0, 1.0], [0.0, 0.0]]), kind="relu") == 0.5
    assert saturated_fraction(torch.tensor([[0.995, -0.999], [-0.999, 0.5]]), kind="tanh") == 0.5
    assert saturated_fraction(torch.tensor([[-0.5, 1.0], [-0.1, -0.2]]), low=-0.05) == 0.5
    assert dormant_fraction({"a": activations, "b": torch.zeros(3, 2)}, tau=0.1) == {"a": 0.5, "b": 1.0}
    with pytest.raises(KeyError, match="swish"):
        saturated_fraction(activations, kind="swish")


def test_norms_and_preactivations_against_manual_computation():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = torch.randn(10, 4)
    assert parameter_norm(net) == pytest.approx(float(torch.cat([p.detach().flatten() for p in net.parameters()]).norm()), rel=1e-6)
    net(x).sum().backward()
    assert gradient_norm(net) == pytest.approx(float(torch.cat([p.grad.flatten() for p in net.parameters()]).norm()), rel=1e-6)
    stats = preactivation_stats(net, x)
    hidden = net[0](x)
    hidden = hidden.detach()
    assert stats["0"] == pytest.approx((float(hidden.mean()), float(hidden.std())), rel=1e-6)
    out = net[2](torch.relu(hidden)).detach()
    assert stats["2"] == pytest.approx((float(out.mean()), float(out.std())), rel=1e-6)
    assert set(stats) == {"0", "2"}
    features = penultimate_features(net, x)
    torch.testing.assert_close(features, torch.relu(hidden).detach())
    assert feature_norm(features) == pytest.approx(float(features.norm(dim=1).mean()), rel=1e-6)


def test_conv_activations_count_channels_as_units():
    a = torch.ones(2, 3, 4, 4)
    a[:, 1] = 0.0  # channel 1 silent everywhere
    a[0, 2, 0, 0] = -1.0  # channel 2 negative at one place only: not dead
    a[:, 2, 1:, :] = 0.0
    a[1, 2] = 0.0
    assert dormant_fraction(a) == pytest.approx(1 / 3)
    assert saturated_fraction(a, kind="relu") == pytest.approx(1 / 3)


def test_zero_features_have_rank_zero():
    zero = torch.zeros(5, 3)
    assert (srank(zero), effective_rank(zero), stable_rank(zero)) == (0, 0.0, 0.0)


def test_penultimate_features_restore_train_mode_and_see_eval_dropout():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Dropout(0.5), nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 1))
    net.train()
    x = torch.randn(7, 4)
    features = penultimate_features(net, x)
    with torch.no_grad():
        manual = torch.relu(net[3](torch.tanh(net[0](x))))  # dropout is the identity in eval mode
    torch.testing.assert_close(features, manual)
    assert all(m.training for m in net.modules())
