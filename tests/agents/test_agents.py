"""DQN and DER updates against hand-written targets; interventions acting on agents."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from plasticlab import interventions
from plasticlab.agents import DER, DQN, DERConfig, DQNConfig
from plasticlab.agents.replay import ReplayBatch
from plasticlab.nets import q_network

SHAPE = (2, 10, 10)


def make_batch(n_actions: int, batch: int = 8, seed: int = 0) -> ReplayBatch:
    rng = np.random.default_rng(seed)
    return ReplayBatch(
        obs=rng.integers(0, 2, (batch, *SHAPE), dtype=np.uint8),
        action=rng.integers(0, n_actions, batch).astype(np.int64),
        returns=rng.normal(size=batch).astype(np.float32),
        next_obs=rng.integers(0, 2, (batch, *SHAPE), dtype=np.uint8),
        discount=np.where(rng.random(batch) < 0.25, 0.0, 0.99 ** 3).astype(np.float32),
        indices=np.arange(batch), weights=rng.uniform(0.5, 1.0, batch).astype(np.float32),
    )


def minatar_net(n_outputs: int, **kwargs):
    return lambda: q_network(SHAPE, n_outputs, torso="minatar", hidden=16, pixel_scale=1.0, **kwargs)


@pytest.mark.parametrize("double", [False, True])
def test_dqn_loss_is_huber_to_the_bootstrapped_target(double):
    torch.manual_seed(0)
    agent = DQN(minatar_net(3), 3, DQNConfig(double=double, stack=1), interventions.build("none"))
    with torch.no_grad():  # make target and online networks differ
        for p in agent.target.parameters():
            p.add_(0.1 * torch.randn_like(p))
    batch = make_batch(3)
    tensors = agent._to_tensors(batch)
    per_sample, priorities = agent.loss(tensors)
    obs, next_obs = tensors["obs"], tensors["next_obs"]
    with torch.no_grad():
        q = agent.online(obs)[torch.arange(8), tensors["action"]]
        next_target = agent.target(next_obs)
        if double:
            next_value = next_target[torch.arange(8), agent.online(next_obs).argmax(1)]
        else:
            next_value = next_target.max(1).values
        y = tensors["returns"] + tensors["discount"] * next_value
    torch.testing.assert_close(per_sample.detach(), F.smooth_l1_loss(q, y, reduction="none"))
    torch.testing.assert_close(priorities, (q - y).abs())


def test_der_loss_is_cross_entropy_to_the_projected_double_q_target():
    torch.manual_seed(0)
    config = DERConfig(stack=1, atoms=11, v_min=-5.0, v_max=5.0)
    agent = DER(minatar_net(3, head="dueling", atoms=11, noisy=False), 3, config, interventions.build("none"))
    with torch.no_grad():
        for p in agent.target.parameters():
            p.add_(0.1 * torch.randn_like(p))
    batch = make_batch(3, seed=1)
    tensors = agent._to_tensors(batch)
    per_sample, _ = agent.loss(tensors)
    support = torch.linspace(-5, 5, 11)
    delta = 1.0
    with torch.no_grad():
        for b in range(8):
            online_next = agent.online(tensors["next_obs"][b:b + 1]).view(3, 11).softmax(-1)
            best = int((online_next * support).sum(-1).argmax())
            p_next = agent.target(tensors["next_obs"][b:b + 1]).view(3, 11).softmax(-1)[best]
            target = torch.zeros(11)
            for j in range(11):
                tz = float(tensors["returns"][b] + tensors["discount"][b] * support[j])
                tz = min(max(tz, -5.0), 5.0)
                pos = (tz + 5.0) / delta
                low, high = int(np.floor(pos)), int(np.ceil(pos))
                if low == high:
                    target[low] += p_next[j]
                else:
                    target[low] += p_next[j] * (high - pos)
                    target[high] += p_next[j] * (pos - low)
            log_p = agent.online(tensors["obs"][b:b + 1]).view(3, 11)[int(tensors["action"][b])].log_softmax(-1)
            torch.testing.assert_close(per_sample[b].detach(), -(target * log_p).sum(), atol=1e-5, rtol=1e-5)


def test_update_steps_the_optimiser_and_the_target_syncs_on_environment_steps():
    """Dopamine counts target_update_period in agent (environment) steps: with one update every 4
    steps a period of 8 steps is a copy every 2 updates, never inside `update` itself."""
    torch.manual_seed(0)
    config = DQNConfig(stack=1, update_every=4, target_update_env_steps=8, learning_starts=4, lr=1e-2)
    agent = DQN(minatar_net(3), 3, config, interventions.build("none"))
    before = [p.clone() for p in agent.online.parameters()]
    agent.update(make_batch(3))
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.online.parameters()))
    agent.update(make_batch(3, seed=2))
    assert any(not torch.equal(a, b) for a, b in zip(agent.target.parameters(), agent.online.parameters()))
    assert [step for step in range(1, 41) if agent.after_env_step(step)] == [8, 16, 24, 32, 40]
    assert all(torch.equal(a, b) for a, b in zip(agent.target.parameters(), agent.online.parameters()))
    late = DQN(minatar_net(3), 3, DQNConfig(stack=1, target_update_env_steps=8, learning_starts=20),
               interventions.build("none"))
    assert [step for step in range(1, 41) if late.after_env_step(step)] == [24, 32, 40]  # not before learning


def test_retired_and_invalid_agent_options_are_clear_errors():
    with pytest.raises(ValueError, match="target_update_every.*target_update_env_steps.*multiply it by update_every"):
        DQNConfig.from_options({"target_update_every": 100})
    with pytest.raises(ValueError, match="life_loss_terminal.*environment protocol"):
        DQNConfig.from_options({"life_loss_terminal": False})
    with pytest.raises(ValueError, match="target_update_env_steps.*>= 1"):
        DQNConfig.from_options({"target_update_env_steps": 0})


def test_defaults_match_dopamine_and_der():
    """The numbers the fidelity table cites: dqn.gin (target every 8,000 agent steps, evaluation
    ε 0.001) and DER (target every 2,000 steps at one update per step, evaluation ε 0.001, as
    Dopamine's DER.gin: a noiseless greedy policy can repeat one action until the episode cap)."""
    dqn, der = DQNConfig(), DERConfig()
    assert (dqn.target_update_env_steps, dqn.update_every, dqn.eval_epsilon) == (8_000, 4, 0.001)
    assert dqn.target_update_env_steps // dqn.update_every == 2_000  # updates between copies
    assert (der.target_update_env_steps, der.update_every, der.eval_epsilon) == (2_000, 1, 0.001)
    assert (der.epsilon(0), der.epsilon(10**6)) == (0.0, 0.0)   # noisy nets explore while training


def test_epsilon_schedule_and_importance_sampling_are_linear():
    config = DQNConfig(learning_starts=100, epsilon_decay_steps=1000, epsilon_start=1.0, epsilon_end=0.1)
    assert config.epsilon(0) == 1.0 and config.epsilon(100) == 1.0
    assert config.epsilon(600) == pytest.approx(0.55)
    assert config.epsilon(5000) == pytest.approx(0.1)
    assert DERConfig().importance_sampling(50, 100) == pytest.approx(0.7)


def test_unknown_agent_option_is_named():
    with pytest.raises(ValueError, match="learning_rate"):
        DQNConfig.from_options({"learning_rate": 1e-3})


def test_plasticity_injection_on_an_agent_keeps_q_values_and_trainable_count():
    torch.manual_seed(0)
    agent = DQN(minatar_net(3), 3, DQNConfig(stack=1),
                interventions.build([{"name": "plasticity_injection", "at_step": 1, "head_layers": 2}]))
    obs = torch.from_numpy(make_batch(3).obs)
    trainable = sum(p.numel() for p in agent.online.parameters() if p.requires_grad)
    before = agent.online(obs).detach()
    agent.online.inject()
    torch.testing.assert_close(agent.online(obs), before)
    assert sum(p.numel() for p in agent.online.parameters() if p.requires_grad) == trainable
    agent.sync_target()   # the target mirrors the injected structure
    torch.testing.assert_close(agent.target(obs), before)


def test_hare_and_tortoise_the_tortoise_acts_at_evaluation():
    torch.manual_seed(0)
    agent = DER(minatar_net(3, head="dueling", atoms=51), 3, DERConfig(stack=1),
                interventions.build([{"name": "hare_tortoise", "ema": 0.5, "reset_every_steps": 1000}]))
    agent.update(make_batch(3))
    tortoise = agent.eval_net()
    assert tortoise is not agent.online
    for slow, fast in zip(tortoise.parameters(), agent.online.parameters()):
        assert slow.data_ptr() != fast.data_ptr()
    assert any(not torch.equal(s, f) for s, f in zip(tortoise.parameters(), agent.online.parameters()))


def test_agent_state_round_trip_restores_every_network_and_counter():
    torch.manual_seed(0)
    make = lambda: DQN(minatar_net(3), 3, DQNConfig(stack=1), interventions.build("layernorm+weight_decay"))  # noqa: E731
    agent = make()
    for seed in range(3):
        agent.update(make_batch(3, seed=seed))
    state = agent.state_dict()
    other = make()
    other.load_state_dict(state)
    assert other.ctx.step == 3
    obs = torch.from_numpy(make_batch(3).obs)
    torch.testing.assert_close(other.online(obs), agent.online(obs))
    torch.manual_seed(5)
    agent.update(make_batch(3, seed=9))
    torch.manual_seed(5)
    other.update(make_batch(3, seed=9))
    torch.testing.assert_close(other.online(obs), agent.online(obs))


def test_injection_into_a_noisy_head_keeps_the_output_in_training_mode():
    """DER's heads are noisy: the new head and its frozen copy must see the same noise, so the
    output at injection equals the output just before it, also with noise on (training mode)."""
    torch.manual_seed(0)
    agent = DER(minatar_net(3, head="dueling", atoms=11, noisy=True), 3, DERConfig(stack=1, atoms=11),
                interventions.build([{"name": "plasticity_injection", "at_step": 10**6, "head_layers": 1}]))
    net = agent.online.train()
    obs = torch.from_numpy(make_batch(3).obs)
    torch.manual_seed(7)
    before = net(obs)
    net.inject()
    torch.manual_seed(7)           # the old head draws the same noise as before
    after = net(obs)
    torch.testing.assert_close(after, before, rtol=0, atol=0)
    torch.manual_seed(8)
    once = net(obs)
    assert not torch.equal(once, before)   # noise is still on
    # the trainable head's noise is fresh per pass and shared with the frozen copy only inside one pass
    new = net.new_head.modules()
    assert all(getattr(m, "noise_source", None) is None for m in net.frozen_new_head.modules())
    assert any(getattr(m, "last_noise", None) is not None for m in new)
