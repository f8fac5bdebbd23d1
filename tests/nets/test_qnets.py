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


@pytest.mark.parametrize("size, kernel, stride, expected", [
    (84, 8, 4, (2, 2)),    # Nature conv 1: 84 -> 21
    (21, 4, 2, (1, 2)),    # conv 2: 21 -> 11, the extra row at the bottom (XLA's SAME)
    (11, 3, 1, (1, 1)),    # conv 3: 11 -> 11
    (10, 3, 1, (1, 1)),
    (9, 5, 5, (0, 1)),
])
def test_same_padding_follows_xla(size, kernel, stride, expected):
    from plasticlab.nets.qnets import SamePad2d

    pad = SamePad2d(kernel, stride)
    assert pad.amounts(size) == expected
    out = torch.nn.Conv2d(1, 1, kernel, stride)(pad(torch.zeros(1, 1, size, size)))
    assert out.shape[-1] == -(-size // stride)  # ⌈size / stride⌉


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_same_padding_equals_torch_same_padding_at_stride_one():
    from plasticlab.nets.qnets import SamePad2d

    torch.manual_seed(0)
    for kernel in (3, 4):
        ours = torch.nn.Conv2d(2, 3, kernel, 1)
        torchs = torch.nn.Conv2d(2, 3, kernel, 1, padding="same")
        torchs.load_state_dict(ours.state_dict())
        x = torch.randn(2, 2, 7, 7)
        torch.testing.assert_close(ours(SamePad2d(kernel, 1)(x)), torchs(x))


def test_dopamine_rainbow_network_shapes_and_parameter_count():
    """Dopamine's full Rainbow / DER network: Nature convs with SAME padding (11×11×64 on 84×84),
    noisy Dense(512), one-layer noisy dueling streams; counted by hand (noisy layers: μ and σ)."""
    net = q_network((4, 84, 84), 6, torso="nature", padding="same", hidden=512, head="dense_dueling", atoms=51,
                    noisy=True, init="xavier_uniform")
    convs = (4 * 32 * 64 + 32) + (32 * 64 * 16 + 64) + (64 * 64 * 9 + 64)
    noisy = lambda n_in, n_out: 2 * (n_in * n_out + n_out)  # noqa: E731
    assert sum(p.numel() for p in net.parameters()) == convs + noisy(11 * 11 * 64, 512) + noisy(512, 51) + noisy(512, 6 * 51)
    assert net(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape == (2, 6 * 51)


def test_xavier_init_for_plain_layers_leaves_noisy_layers_alone():
    torch.manual_seed(0)
    net = q_network((4, 84, 84), 6, torso="nature", padding="same", hidden=512, head="dense_dueling", atoms=51,
                    noisy=True, init="xavier_uniform")
    for module in net.modules():
        if isinstance(module, NoisyLinear):
            assert torch.allclose(module.weight_sigma, torch.full_like(module.weight_sigma, 0.1 / module.in_features ** 0.5))
        elif isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = module.weight[0].numel()
            fan_out = module.weight.shape[0] * module.weight[0, 0].numel()
            bound = (6 / (fan_in + fan_out)) ** 0.5
            assert module.weight.abs().max() <= bound and module.weight.abs().max() > 0.9 * bound
            assert torch.count_nonzero(module.bias) == 0
    with pytest.raises(KeyError, match="init"):
        q_network((4, 84, 84), 6, init="he")
