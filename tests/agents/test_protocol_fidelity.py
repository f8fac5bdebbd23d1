"""The agent loop follows the papers' protocols: target copies on environment steps, life loss
terminal only where the protocol says so, a DER replay that keeps every transition, and plasticity
diagnostics that measure the trainable network (the same layers before and after injection)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from plasticlab import interventions
from plasticlab.agents import DQN, DQNConfig, loop
from plasticlab.agents.loop import diagnostics, make_replay, measured_network, train_agent
from plasticlab.agents.replay import FrameReplay
from plasticlab.envs import life_loss_is_terminal
from plasticlab.studies.base import RunSpec
from tests.agents.test_agents import make_batch, minatar_net


def dqn_run(tmp_path: Path, steps: int = 160, **options) -> RunSpec:
    config = {
        "agent": "dqn",
        "agent_options": {"stack": 1, "learning_starts": 20, "update_every": 4, "target_update_env_steps": 40,
                          "batch_size": 4, **options},
        "model": {"name": "qnet", "torso": "minatar", "hidden": 8, "pixel_scale": 1.0},
        "protocol": {"steps": steps, "eval_every": steps, "eval_episodes": 1, "eval_max_steps": 5,
                     "checkpoint_every": 10 * steps, "log_every_updates": 5, "diagnostics_batch": 8},
        "env": {"suite": "minatar", "game": "breakout"},
        "interventions": "none",
        "variant": "minatar_breakout.none",
    }
    return RunSpec("injection", config["variant"], 0, config, tmp_path)


def test_the_loop_copies_the_target_every_period_of_environment_steps(tmp_path, monkeypatch):
    copies: list[int] = []
    original = DQN.after_env_step

    def recording(self, env_step):
        copied = original(self, env_step)
        if copied:
            copies.append(env_step)
        return copied

    monkeypatch.setattr(DQN, "after_env_step", recording)
    frame = train_agent(dqn_run(tmp_path))
    assert copies == [40, 80, 120, 160]     # every 40 env steps = every 10 updates at update_every 4
    assert frame.loc[frame["metric"] == "updates", "value"].iloc[0] == (160 - 20) // 4 + 1


@pytest.mark.parametrize("spec, terminal", [
    ({"suite": "ale", "game": "Pong"}, True),                                   # Atari-100k: no sticky actions
    ({"suite": "ale", "game": "Pong", "sticky_actions": 0.25}, False),          # long-run protocol (dqn.gin)
    ({"suite": "ale", "game": "Pong", "sticky_actions": 0.25, "life_loss_terminal": True}, True),
    ({"suite": "ale", "game": "Pong", "life_loss_terminal": False}, False),
    ({"suite": "minatar", "game": "breakout"}, False),
])
def test_life_loss_is_terminal_by_protocol(spec, terminal):
    pytest.importorskip("ale_py") if spec["suite"] == "ale" else None
    assert life_loss_is_terminal(spec) is terminal


class LivesEnv(gym.Env):
    """Three lives lost at steps 3, 6, 9 of each 12-step episode; reward 1 per step."""

    observation_space = gym.spaces.Box(0, 1, (1, 10, 10), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros((1, 10, 10), np.uint8), {"lives": 4}

    def step(self, action):
        self.t += 1
        frame = np.full((1, 10, 10), self.t % 2, np.uint8)
        return frame, 1.0, self.t == 12, False, {"lives": 4 - self.t // 3}


@pytest.mark.parametrize("sticky, expected_terminals", [(0.0, [2, 5, 8, 11]), (0.25, [11])])
def test_the_loop_marks_life_losses_terminal_only_under_that_protocol(tmp_path, monkeypatch, sticky,
                                                                     expected_terminals):
    pytest.importorskip("ale_py")
    monkeypatch.setattr(loop, "make_env", lambda spec, training=True: LivesEnv())
    seen: list[FrameReplay] = []
    original = loop.make_replay
    monkeypatch.setattr(loop, "make_replay", lambda *a, **k: seen.append(original(*a, **k)) or seen[-1])
    run = dqn_run(tmp_path, steps=12, learning_starts=100)
    run.config["env"] = {"suite": "ale", "game": "Pong", "sticky_actions": sticky}
    train_agent(run)
    replay = seen[0]
    assert np.flatnonzero(replay.terminal[:13]).tolist() == expected_terminals


def test_a_replay_covering_the_run_keeps_its_first_transitions():
    """DER keeps every transition of its 100k steps; episode starts take ring slots, so a ring of
    `steps` slots would have overwritten the first transitions. 400 steps in 80 episodes of 5."""
    config = DQNConfig(stack=4, n_step=3, replay_capacity=100_000)
    replay = make_replay(config, 400, (1, 2, 2), seed=0)
    assert replay.grow
    rng = np.random.default_rng(0)
    for _ in range(80):
        replay.start_episode(rng.integers(0, 2, (1, 2, 2), dtype=np.uint8))
        for step in range(5):
            replay.add(0, 1.0, rng.integers(0, 2, (1, 2, 2), dtype=np.uint8), terminal=step == 4, episode_end=step == 4)
    assert len(replay) == 400                     # every transition sampleable
    assert replay.capacity >= 480                 # 400 steps + 80 episode starts: it grew
    first = replay.batch_at([0])
    assert first.returns[0] == pytest.approx(1 + 0.99 + 0.99 ** 2) and replay.write_id[0] == 0
    ring = make_replay(DQNConfig(stack=4, n_step=3, replay_capacity=300), 400, (1, 2, 2), seed=0)
    assert not ring.grow and ring.capacity == 300   # smaller than the run: a plain ring


def test_a_growing_prioritised_replay_keeps_priorities_and_resumes():
    replay = FrameReplay(8, (1, 1, 1), stack=1, n_step=1, prioritised=True, grow=True)
    frame = np.zeros((1, 1, 1), np.uint8)
    replay.start_episode(frame)
    for step in range(6):
        replay.add(0, 0.0, frame, terminal=False, episode_end=False)
    replay.update_priorities(np.array([0, 1]), np.array([3.0, 5.0]))
    for step in range(20):
        replay.add(0, 0.0, frame, terminal=False, episode_end=step == 19)
    assert len(replay) == 26 and replay.capacity >= 27
    np.testing.assert_allclose(replay._tree.get(np.array([0, 1])), np.sqrt([3.0 + 1e-6, 5.0 + 1e-6]))
    restored = FrameReplay(8, (1, 1, 1), stack=1, n_step=1, prioritised=True, grow=True)
    restored.load_state_dict(replay.state_dict())
    assert restored.capacity == replay.capacity and len(restored) == 26
    np.testing.assert_array_equal(restored._tree.nodes, replay._tree.nodes)


def test_diagnostics_measure_the_same_trainable_layers_before_and_after_injection(tmp_path):
    torch.manual_seed(0)
    agent = DQN(minatar_net(3), 3, DQNConfig(stack=1),
                interventions.build([{"name": "plasticity_injection", "at_step": 10**6, "head_layers": 2}]))
    replay = FrameReplay(64, (2, 10, 10), stack=1, n_step=1)
    batch = make_batch(3, batch=40)
    replay.start_episode(batch.obs[0])
    for i in range(1, 40):
        replay.add(0, 0.0, batch.obs[i], terminal=False, episode_end=i == 39)
    before = measured_network(agent.online)
    names_before = [name for name, _ in before.named_modules()]
    agent.online.inject()
    after = measured_network(agent.online)
    assert [name for name, _ in after.named_modules()] == names_before
    modules_after = set(map(id, after.modules()))
    assert not modules_after & set(map(id, agent.online.frozen_new_head.modules()))   # never the frozen copy
    assert set(map(id, agent.online.new_head.children())) <= modules_after           # the head being trained
    with torch.no_grad():   # the fresh head's hidden layer: srank of its features, not the frozen head's
        for param in agent.online.frozen_new_head.parameters():
            param.zero_()
    assert diagnostics(agent, replay, 32)["feature_srank"] > 1
