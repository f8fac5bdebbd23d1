"""Registry interventions on value-based agents: each does its defining thing inside DQN/DER updates."""

from __future__ import annotations

import torch
from torch import nn

from plasticlab import interventions
from plasticlab.agents import DQN, DQNConfig
from plasticlab.nets.softmoe import SoftMoE
from tests.agents.test_agents import make_batch, minatar_net


def agent_with(spec, **options) -> DQN:
    torch.manual_seed(0)
    options = {"stack": 1, "lr": 1e-3, **options}
    return DQN(minatar_net(3), 3, DQNConfig(**options), interventions.build(spec))


def test_layernorm_normalises_every_hidden_layer_of_the_q_network():
    agent = agent_with("layernorm")
    kinds = [type(m) for m in agent.online]
    assert nn.GroupNorm in kinds and nn.LayerNorm in kinds     # after the conv and the hidden dense layer
    assert isinstance(agent.online[-1], nn.Linear)               # the Q head stays linear
    agent.update(make_batch(3))


def test_decoupled_weight_decay_shrinks_weights_without_gradient():
    agent = agent_with([{"name": "weight_decay", "coef": 0.5}], lr=0.1)
    head = agent.online[-1]
    with torch.no_grad():
        head.weight.fill_(1.0)
    batch = make_batch(3)
    agent.update(batch)
    # the decay part alone would give 1 − lr·coef = 0.95; Adam's first step moves each entry by ≈ lr
    assert torch.all(head.weight <= 0.95 + 0.1 + 1e-6) and torch.all(head.weight >= 0.95 - 0.1 - 1e-6)
    assert agent.optimizer.param_groups[0]["weight_decay"] == 0.5


def test_redo_recycles_dormant_units_of_the_dense_layer():
    agent = agent_with([{"name": "redo", "tau": 0.0, "every_steps": 1}])
    hidden = agent.online[5]   # ToFloat, Conv, ReLU, Flatten, (4) Linear, (5) ReLU, (6) Linear
    dense, head = agent.online[4], agent.online[6]
    assert isinstance(hidden, nn.ReLU) and isinstance(dense, nn.Linear)
    with torch.no_grad():  # units 0..3 can never fire: dormant
        dense.weight[:4] = 0.0
        dense.bias[:4] = -1.0
    agent.update(make_batch(3))
    assert torch.all(dense.weight[:4].abs().sum(dim=1) > 0)      # in-weights re-initialised
    assert torch.all(head.weight[:, :4] == 0)                     # out-weights zeroed
    assert agent.intervention.recycled >= 4


def test_sr_spr_reset_reinitialises_the_last_layers_every_n_updates():
    agent = agent_with([{"name": "reset", "layers": 2, "at_task_start": False, "every_steps": 2}])
    conv, dense = agent.online[1], agent.online[4]
    agent.update(make_batch(3))
    conv_before, dense_before = conv.weight.clone(), dense.weight.clone()
    torch.manual_seed(123)
    agent.update(make_batch(3, seed=1))       # update 2: reset fires after the step
    assert not torch.allclose(dense.weight, dense_before, atol=1e-3)   # re-drawn, not a small Adam step
    assert (conv.weight - conv_before).abs().max() < 2e-3              # the torso only took an Adam step


def test_softmoe_agent_trains_through_the_moe():
    agent = agent_with([{"name": "softmoe", "experts": 2, "expert_hidden": 8}])
    moe = next(m for m in agent.online if isinstance(m, SoftMoE))
    before = moe.phi.clone()
    agent.update(make_batch(3))
    assert not torch.equal(moe.phi, before)
