"""Q-networks and noisy layers."""

from __future__ import annotations

import pytest
import torch

from plasticlab.nets import build_net, q_network, weight_layers
from plasticlab.nets.noisy import NoisyLinear


def test_nature_cnn_shapes_and_parameter_count():
    net = q_network((4, 84, 84), 6, torso="nature", hidden=512)
    # conv and dense parameters counted by hand from the layer sizes of Mnih et al. 2015
    convs = (4 * 32 * 64 + 32) + (32 * 64 * 16 + 64) + (64 * 64 * 9 + 64)
    dense = 3136 * 512 + 512 + 512 * 6 + 6
    assert sum(p.numel() for p in net.parameters()) == convs + dense
    assert net(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape == (2, 6)


def test_der_network_is_dueling_distributional():
    net = q_network((4, 84, 84), 4, torso="der", hidden=256, head="dueling", atoms=51, noisy=True)
    out = net(torch.zeros(3, 4, 84, 84, dtype=torch.uint8))
    assert out.shape == (3, 4 * 51)
    assert len([m for _, m in weight_layers(net) if isinstance(m, NoisyLinear)]) == 4


def test_dueling_combination_centres_the_advantages():
    torch.manual_seed(0)
    net = q_network((1, 10, 10), 3, torso="minatar", hidden=16, head="dueling", noisy=False, pixel_scale=1.0)
    x = torch.randint(0, 2, (5, 1, 10, 10), dtype=torch.uint8)
    head = net[-1]
    z = net[:-1](x)
    value, advantage = head.value(z), head.advantage(z)
    torch.testing.assert_close(net(x), value + advantage - advantage.mean(dim=1, keepdim=True))


def test_noisy_linear_eval_mode_is_the_mean_and_noise_is_factorised():
    torch.manual_seed(0)
    layer = NoisyLinear(6, 4, sigma0=0.5)
    x = torch.randn(3, 6)
    layer.eval()
    torch.testing.assert_close(layer(x), x @ layer.weight.T + layer.bias)
    layer.train()
    torch.manual_seed(1)
    noisy = layer(x)
    torch.manual_seed(1)
    f = lambda v: v.sign() * v.abs().sqrt()  # noqa: E731
    eps_in, eps_out = f(torch.randn(6)), f(torch.randn(4))
    weight = layer.weight + layer.weight_sigma * torch.outer(eps_out, eps_in)
    bias = layer.bias + layer.bias_sigma * eps_out
    torch.testing.assert_close(noisy, x @ weight.T + bias)
    assert torch.allclose(layer.weight_sigma, torch.full((4, 6), 0.5 / 6 ** 0.5))


def test_build_net_knows_qnet_and_rejects_bad_torsos():
    assert build_net({"name": "qnet", "torso": "minatar", "hidden": 32, "pixel_scale": 1.0}, (4, 10, 10), 6)(
        torch.zeros(1, 4, 10, 10, dtype=torch.uint8)).shape == (1, 6)
    with pytest.raises(KeyError, match="impala"):
        build_net({"name": "qnet", "torso": "impala"}, (4, 84, 84), 6)
