"""Soft MoE / top-1 MoE layers and the softmoe intervention on Q-networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from plasticlab import interventions
from plasticlab.nets import q_network
from plasticlab.nets.softmoe import SoftMoE, Tokenise, Top1MoE


def test_dispatch_is_a_softmax_over_tokens_and_combine_over_slots():
    torch.manual_seed(0)
    layer = SoftMoE(width=6, n_experts=3, slots_per_expert=2, hidden=8)
    tokens = torch.randn(4, 5, 6)
    dispatch, combine = layer.routing(tokens)
    logits = tokens @ layer.phi
    torch.testing.assert_close(dispatch, torch.softmax(logits, dim=1))
    torch.testing.assert_close(combine, torch.softmax(logits, dim=2))
    torch.testing.assert_close(dispatch.sum(dim=1), torch.ones(4, 6))   # each slot: convex mix of tokens
    torch.testing.assert_close(combine.sum(dim=2), torch.ones(4, 5))    # each token: convex mix of slots


def test_forward_equals_the_papers_equations_written_out():
    torch.manual_seed(1)
    layer = SoftMoE(width=4, n_experts=2, slots_per_expert=3, hidden=5)
    x = torch.randn(2, 7, 4)
    logits = x @ layer.phi
    dispatch, combine = logits.softmax(1), logits.softmax(2)
    expected = torch.zeros_like(x)
    for b in range(2):
        slots_in = dispatch[b].T @ x[b]                     # (E·S, d)
        outs = []
        for s in range(6):
            e = s // 3
            h = torch.relu(slots_in[s] @ layer.experts.w1[e] + layer.experts.b1[e])
            outs.append(h @ layer.experts.w2[e] + layer.experts.b2[e])
        expected[b] = combine[b] @ torch.stack(outs)
    torch.testing.assert_close(layer(x), expected, atol=1e-5, rtol=1e-5)


def test_one_expert_one_slot_per_token_reduces_to_a_dense_layer_per_token():
    """With a routing that sends token i to slot i (Φ = c·I, c large, one-hot tokens), dispatch and
    combine become identities and the layer is the expert MLP applied to every token."""
    torch.manual_seed(2)
    tokens, width = 5, 5
    layer = SoftMoE(width=width, n_experts=1, slots_per_expert=tokens, hidden=7)
    with torch.no_grad():
        layer.phi.copy_(torch.eye(width) * 60.0)
    x = torch.eye(tokens)[None] * 1.0 + 0.0  # one-hot tokens
    dispatch, combine = layer.routing(x)
    torch.testing.assert_close(dispatch[0], torch.eye(tokens), atol=1e-12, rtol=0)
    torch.testing.assert_close(combine[0], torch.eye(tokens), atol=1e-12, rtol=0)
    expert = layer.experts
    dense = torch.relu(x @ expert.w1[0] + expert.b1[0]) @ expert.w2[0] + expert.b2[0]
    torch.testing.assert_close(layer(x), dense)


def test_top1_routes_each_token_to_its_most_probable_expert():
    torch.manual_seed(3)
    layer = Top1MoE(width=4, n_experts=3, hidden=6)
    x = torch.randn(2, 5, 4)
    out = layer(x)
    gates = layer.router(x).softmax(-1)
    for b in range(2):
        for t in range(5):
            e = int(gates[b, t].argmax())
            h = torch.relu(x[b, t] @ layer.experts.w1[e] + layer.experts.b1[e])
            expected = (h @ layer.experts.w2[e] + layer.experts.b2[e]) * gates[b, t, e]
            torch.testing.assert_close(out[b, t], expected, atol=1e-5, rtol=1e-5)


def test_tokenise_is_one_token_per_position():
    x = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).view(2, 3, 2, 2)
    tokens = Tokenise()(x)
    assert tokens.shape == (2, 4, 3)
    torch.testing.assert_close(tokens[1, 2], x[1, :, 1, 0])


@pytest.mark.parametrize("spec, shape, experts, tokens", [
    ({"torso": "nature", "hidden": 512}, (4, 84, 84), 4, 49),      # 7×7 positions, PyTorch 'valid' padding
    ({"torso": "minatar", "hidden": 128, "pixel_scale": 1.0}, (4, 10, 10), 8, 64),
])
def test_softmoe_replaces_the_penultimate_dense_layer(spec, shape, experts, tokens):
    torch.manual_seed(0)
    net = q_network(shape, 6, **spec)
    moe_net = interventions.build([{"name": "softmoe", "experts": experts}]).build(net)
    layers = list(moe_net)
    moe = next(m for m in layers if isinstance(m, SoftMoE))
    assert moe.n_experts == experts and moe.slots_per_expert == -(-tokens // experts)
    assert not any(isinstance(m, nn.Linear) and m.out_features == spec["hidden"] for m in layers)  # dense layer gone
    head = layers[-1]
    assert isinstance(head, nn.Linear) and head.in_features == tokens * moe.phi.shape[0] and head.out_features == 6
    out = moe_net(torch.randint(0, 255, (3, *shape), dtype=torch.uint8))
    assert out.shape == (3, 6)


def test_softmoe_refuses_a_network_without_a_penultimate_dense_layer():
    """van Hasselt et al.'s DER network: the dueling streams read the conv map, so there is no
    dense layer to replace; inserting a MoE there would replace nothing."""
    net = q_network((4, 84, 84), 5, torso="der", hidden=256, head="dueling", atoms=51, noisy=True)
    with pytest.raises(ValueError, match="penultimate dense layer.*dense_dueling"):
        interventions.build([{"name": "softmoe", "experts": 2}]).build(net)


def dopamine_der(actions: int = 6) -> nn.Sequential:
    return q_network((4, 84, 84), actions, torso="nature", padding="same", hidden=512, head="dense_dueling", atoms=51,
                     noisy=True, init="xavier_uniform")


@pytest.mark.parametrize("experts", [1, 2, 4, 8])
def test_softmoe_on_dopamines_der_network_replaces_the_dense_layer_and_feeds_the_dueling_streams(experts):
    """labs/moes FullRainbowMoENetwork (encoder CNN, SOFTMOE): 121 tokens of 64, noisy experts
    Dense(512) → ReLU → Dense(64), ⌈121/E⌉ slots each, the flattened tokens into one-layer noisy
    dueling streams. Parameter count from the layer sizes, by hand."""
    from plasticlab.nets.noisy import NoisyLinear
    from plasticlab.nets.qnets import DuelingHead

    torch.manual_seed(0)
    net = interventions.build([{"name": "softmoe", "experts": experts}]).build(dopamine_der())
    moe = next(m for m in net if isinstance(m, SoftMoE))
    slots = -(-121 // experts)
    assert moe.slots_per_expert == slots and moe.experts.noisy and moe.experts.hidden == 512
    assert not any(isinstance(m, NoisyLinear) and m.out_features == 512 for m in net.modules())  # Dense(512) gone
    head = net[-1]
    assert isinstance(head, DuelingHead) and head.in_features == 121 * 64 and head.hidden is None
    convs = (4 * 32 * 64 + 32) + (32 * 64 * 16 + 64) + (64 * 64 * 9 + 64)
    router = 64 * experts * slots
    expert_layers = experts * (2 * (64 * 512 + 512) + 512 * 64 + 64)     # noisy first layer: μ and σ
    streams = 2 * (7744 * 51 + 51) + 2 * (7744 * 6 * 51 + 6 * 51)
    assert sum(p.numel() for p in net.parameters()) == convs + router + expert_layers + streams
    assert net(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape == (2, 6 * 51)


def test_router_is_flax_lecun_normal_over_experts_and_slots():
    torch.manual_seed(0)
    layer = SoftMoE(width=64, n_experts=8, slots_per_expert=32, hidden=4)
    std = (1.0 / (64 * 8)) ** 0.5           # fan-in d·E for Flax's (d, E, S) kernel
    assert layer.phi.std().item() == pytest.approx(std, rel=0.05)
    assert layer.phi.abs().max().item() <= 2 * std / 0.87962566103423978 + 1e-7


def test_noisy_experts_share_one_noise_draw_and_are_deterministic_in_eval_mode():
    torch.manual_seed(0)
    layer = SoftMoE(width=4, n_experts=3, slots_per_expert=2, hidden=5, noisy=True, sigma0=0.5)
    experts = layer.experts
    with torch.no_grad():  # make every expert identical: outputs then differ only through noise
        for param in (experts.w1, experts.b1, experts.w2, experts.b2, experts.w1_sigma, experts.b1_sigma):
            param.copy_(param[:1].expand_as(param))
    slots = torch.randn(2, 1, 1, 4).expand(2, 3, 2, 4)   # the same input in every slot of every expert
    out = experts.train()(slots)
    torch.testing.assert_close(out, out[:, :1, :1].expand_as(out))    # one draw for all experts and slots
    assert not torch.equal(experts(slots), out)                       # a fresh draw per pass
    experts.eval()
    torch.testing.assert_close(experts(slots), experts(slots))


def test_softmoe_rejects_networks_without_a_conv_torso_and_bad_options():
    from plasticlab.nets import make_mlp

    with pytest.raises(ValueError, match="convolutional torso"):
        interventions.build("softmoe").build(make_mlp((8,), [16], 3))
    with pytest.raises(ValueError, match="routing"):
        interventions.build([{"name": "softmoe", "routing": "top2"}])
