"""Architectures: structure, shapes and parameter counts against hand formulas."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from plasticlab.nets import build_net, make_mlp, make_resnet18, weight_layers


def test_mlp_parameter_count_and_layers():
    net = build_net({"name": "mlp", "hidden": [32, 16]}, (8, 8), 10)
    expected = (64 * 32 + 32) + (32 * 16 + 16) + (16 * 10 + 10)
    assert sum(p.numel() for p in net.parameters()) == expected
    assert [type(m) for m in net] == [nn.Flatten, nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for _, m in weight_layers(net)] == [(64, 32), (32, 16), (16, 10)]
    assert [name for name, _ in weight_layers(net)] == ["1", "3", "5"]
    assert net(torch.zeros(4, 8, 8)).shape == (4, 10)


def test_mlp_activation_is_chosen_by_name_and_unknown_names_are_listed():
    net = make_mlp((3,), [4, 4], 2, activation="tanh")
    assert [type(m) for m in net if not isinstance(m, (nn.Flatten, nn.Linear))] == [nn.Tanh, nn.Tanh]
    assert make_mlp((3,), [], 2)[-1].in_features == 3  # no hidden layer: a linear model
    with pytest.raises(KeyError, match=r"unknown activation 'swish'.*relu.*tanh"):
        make_mlp((3,), [4], 2, activation="swish")


def _conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k


def _resnet18_parameters(w: int, in_channels: int, classes: int) -> int:
    """Hand count: bias-free convs, BN weight+bias per channel, projection where shapes change."""
    total, channels = _conv(in_channels, w, 3) + 2 * w, w
    for multiplier in (1, 2, 4, 8):
        out = w * multiplier
        block1 = _conv(channels, out, 3) + 2 * out + _conv(out, out, 3) + 2 * out
        if channels != out:
            block1 += _conv(channels, out, 1) + 2 * out
        block2 = 2 * (_conv(out, out, 3) + 2 * out)
        total += block1 + block2
        channels = out
    return total + channels * classes + classes


def test_resnet18_parameter_count_matches_the_architecture():
    net = build_net({"name": "resnet18"}, (3, 32, 32), 10)
    assert sum(p.numel() for p in net.parameters()) == _resnet18_parameters(64, 3, 10) == 11_173_962
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_resnet18_structure_cifar_stem_no_maxpool_and_width():
    net = make_resnet18((1, 16, 16), 5, width=8)
    assert sum(p.numel() for p in net.parameters()) == _resnet18_parameters(8, 1, 5)
    assert not any(isinstance(m, nn.MaxPool2d) for m in net.modules())
    stem = net.stem[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    # 1 stem + 16 block convs + 3 projections; the head is last (what a last-layer reset hits)
    layers = weight_layers(net)
    assert len(layers) == 21 and layers[0][0] == "stem.0" and layers[-1][0] == "head"
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 20
    assert net.eval()(torch.zeros(3, 1, 16, 16)).shape == (3, 5)
    with pytest.raises(ValueError, match="input_shape"):
        make_resnet18((784,), 10)


def test_unknown_model_and_option_are_named():
    with pytest.raises(KeyError, match=r"unknown model 'vit'.*mlp.*resnet18"):
        build_net({"name": "vit"}, (3,), 2)
    with pytest.raises(ValueError, match="'depth'"):
        build_net({"name": "mlp", "depth": 3}, (3,), 2)
    # options of other architectures are ignored (configs merge key by key)
    assert build_net({"name": "resnet18", "hidden": [4], "width": 8}, (3, 8, 8), 2).eval()(torch.zeros(1, 3, 8, 8)).shape == (1, 2)


def test_onednn_is_switched_off_again_after_being_switched_back_on():
    """The ResNet's oneDNN guard acts at every build, not once per process: code (or a test
    fixture) that turns oneDNN back on must not expose the next ResNet to the AVX2 crash."""
    from plasticlab.nets.resnet import _x86_without_avx512, avoid_onednn_1x1_backward_on_avx2

    for _ in range(2):
        torch.backends.mkldnn.enabled = True
        assert avoid_onednn_1x1_backward_on_avx2() == _x86_without_avx512()
        assert torch.backends.mkldnn.enabled == (not _x86_without_avx512())
