"""A plain single-file DQN loop written to the CleanRL pattern (`dqn_atari.py`), the reference
that `dqn_throughput.py` times our agent loop against.

Deliberately the usual straightforward code: stacked observations stored twice (obs and
next_obs) as full uint8 arrays, float conversion with ``torch.Tensor``, Q-values for acting
computed with autograd on, ``torch.optim.Adam`` with its default implementation, MSE loss.
Same network (Nature CNN), batch, replay ratio and torch threads as the agent it is compared to.
"""

from __future__ import annotations

import random
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def make_env(game: str, seed: int) -> gym.Env:
    import ale_py

    gym.register_envs(ale_py)
    env = gym.make(f"ALE/{game}-v5", frameskip=1, repeat_action_probability=0.0)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=0, frame_skip=4, screen_size=84, grayscale_obs=True)
    env = gym.wrappers.FrameStackObservation(env, 4)
    env.action_space.seed(seed)
    return env


class QNetwork(nn.Module):
    def __init__(self, n_actions: int):
        super().__init__()
        self.network = nn.Sequential(
            nn.Conv2d(4, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, n_actions),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x / 255.0)


class ReplayBuffer:
    def __init__(self, capacity: int, obs_shape: tuple[int, ...]):
        self.obs = np.zeros((capacity, *obs_shape), dtype=np.uint8)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=np.uint8)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.position, self.full = capacity, 0, False

    def add(self, obs, next_obs, action, reward, done) -> None:
        self.obs[self.position] = obs
        self.next_obs[self.position] = next_obs
        self.actions[self.position], self.rewards[self.position], self.dones[self.position] = action, reward, done
        self.position = (self.position + 1) % self.capacity
        self.full = self.full or self.position == 0

    def sample(self, batch_size: int):
        upper = self.capacity if self.full else self.position
        index = np.random.randint(0, upper, size=batch_size)
        return (torch.Tensor(self.obs[index]), torch.Tensor(self.next_obs[index]),
                torch.from_numpy(self.actions[index]), torch.from_numpy(self.rewards[index]),
                torch.from_numpy(self.dones[index]))


def linear_schedule(start: float, end: float, duration: int, t: int) -> float:
    return max(end, start + (end - start) * t / duration)


def run(game: str = "Breakout", steps: int = 3000, learning_starts: int = 1000, train_frequency: int = 4,
        batch_size: int = 32, buffer_size: int = 100_000, lr: float = 1e-4, gamma: float = 0.99,
        target_network_frequency: int = 1000, exploration_fraction: float = 0.1, seed: int = 0,
        constant_epsilon: float | None = None) -> dict[str, float]:
    """Run the loop; return wall time, env steps/s and updates/s. ``constant_epsilon`` replaces
    the linear schedule (so a comparison runs the network for the same share of actions)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    env = make_env(game, seed)
    q_network = QNetwork(env.action_space.n)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=lr)
    target_network = QNetwork(env.action_space.n)
    target_network.load_state_dict(q_network.state_dict())
    rb = ReplayBuffer(buffer_size, env.observation_space.shape)
    obs, _ = env.reset(seed=seed)
    updates = 0
    start = time.perf_counter()
    for global_step in range(steps):
        epsilon = (constant_epsilon if constant_epsilon is not None
                   else linear_schedule(1.0, 0.01, int(exploration_fraction * steps), global_step))
        if random.random() < epsilon:
            action = env.action_space.sample()
        else:
            q_values = q_network(torch.Tensor(obs).unsqueeze(0))
            action = int(torch.argmax(q_values, dim=1).cpu().numpy()[0])
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rb.add(obs, next_obs, action, np.sign(reward), terminated)
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
        if global_step > learning_starts and global_step % train_frequency == 0:
            b_obs, b_next, b_actions, b_rewards, b_dones = rb.sample(batch_size)
            with torch.no_grad():
                target_max, _ = target_network(b_next).max(dim=1)
                td_target = b_rewards + gamma * target_max * (1 - b_dones)
            old_val = q_network(b_obs).gather(1, b_actions[:, None]).squeeze(1)
            loss = F.mse_loss(td_target, old_val)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            updates += 1
        if global_step % target_network_frequency == 0:
            target_network.load_state_dict(q_network.state_dict())
    wall = time.perf_counter() - start
    return {"wall_s": wall, "env_steps_per_s": steps / wall, "updates": updates, "updates_per_s": updates / wall}
