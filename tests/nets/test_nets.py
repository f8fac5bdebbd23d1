"""Architectures: shapes and parameter counts against hand formulas."""

from __future__ import annotations

import pytest
import torch

from plasticlab.nets import build_net, weight_layers


def test_mlp_parameter_count_and_layers():
    net = build_net({"name": "mlp", "hidden": [32, 16]}, (8, 8), 10)
    expected = (64 * 32 + 32) + (32 * 16 + 16) + (16 * 10 + 10)
    assert sum(p.numel() for p in net.parameters()) == expected
    assert [name for name, _ in weight_layers(net)] == ["1", "3", "5"]
    assert net(torch.zeros(4, 8, 8)).shape == (4, 10)


def _conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k


def test_resnet18_parameter_count_matches_the_architecture():
    w = 64
    stem = _conv(3, w, 3) + 2 * w
    total, channels = stem, w
    for multiplier in (1, 2, 4, 8):
        out = w * multiplier
        block1 = _conv(channels, out, 3) + 2 * out + _conv(out, out, 3) + 2 * out
        if channels != out:
            block1 += _conv(channels, out, 1) + 2 * out
        block2 = 2 * (_conv(out, out, 3) + 2 * out)
        total += block1 + block2
        channels = out
    total += channels * 10 + 10
    net = build_net({"name": "resnet18"}, (3, 32, 32), 10)
    assert sum(p.numel() for p in net.parameters()) == total == 11_173_962
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_unknown_model_and_option_are_named():
    with pytest.raises(KeyError, match="unknown model 'vit'"):
        build_net({"name": "vit"}, (3,), 2)
    with pytest.raises(ValueError, match="'depth'"):
        build_net({"name": "mlp", "depth": 3}, (3,), 2)
    # options of other architectures are ignored (configs merge key by key)
    assert build_net({"name": "resnet18", "hidden": [4], "width": 8}, (3, 8, 8), 2).eval()(torch.zeros(1, 3, 8, 8)).shape == (1, 2)
