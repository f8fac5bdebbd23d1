"""Data-efficient Rainbow (van Hasselt et al. 2019, "When to use parametric models in RL?"):
Rainbow (C51, multi-step, dueling, noisy nets, prioritised replay, Double Q) with a high replay
ratio for Atari-100k. Only the config and the distributional loss differ from DQN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from plasticlab.agents.distributional import categorical_projection
from plasticlab.agents.dqn import DQN, DQNConfig
from plasticlab.interventions import Intervention


@dataclass(frozen=True)
class DERConfig(DQNConfig):
    """DER's hyperparameters (van Hasselt et al. 2019, Table 1): Adam 1e-4, ε 1.5e-4, batch 32,
    one update per env step from step 1,600, 20-step returns, target every 2,000 steps (= updates
    at one update per step), grad norm 10, noisy nets σ₀ 0.1 (no ε-greedy while training), 51
    atoms on [−10, 10], priority exponent 0.5, importance sampling 0.4 → 1, a replay that keeps
    every transition of the 100k-step run. Evaluation ε 0.001, as Dopamine's DER configs
    (``labs/atari_100k/configs/DER.gin``): a greedy noiseless policy can repeat one action until
    the episode cap. The network (torso der, dueling, noisy) is set in the model spec."""

    lr: float = 1e-4
    adam_eps: float = 1.5e-4
    replay_capacity: int = 100_000
    learning_starts: int = 1_600
    update_every: int = 1
    target_update_env_steps: int = 2_000
    epsilon_start: float = 0.0
    epsilon_end: float = 0.0
    epsilon_decay_steps: int = 1
    eval_epsilon: float = 0.001
    n_step: int = 20
    double: bool = True
    max_grad_norm: float | None = 10.0
    prioritised: bool = True
    atoms: int = 51
    v_min: float = -10.0
    v_max: float = 10.0


class DER(DQN):
    name = "der"
    config_class = DERConfig

    def __init__(self, make_net: Callable[[], nn.Module], n_actions: int, config: DERConfig,
                 intervention: Intervention, device: str | torch.device = "cpu"):
        super().__init__(make_net, n_actions, config, intervention, device)
        self.atoms = config.atoms
        self.support = torch.linspace(config.v_min, config.v_max, config.atoms, device=self.device)

    def q_values(self, net: nn.Module, obs: torch.Tensor) -> torch.Tensor:
        """Expected return under the predicted categorical distribution."""
        return expected_values(net(obs), self.n_actions, self.support)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy between the projected target distribution and the prediction; the
        per-sample loss is also the new priority (Rainbow)."""
        return categorical_td_loss(self.online, self.target, batch, self.n_actions, self.support)


def expected_values(outputs: torch.Tensor, n_actions: int, support: torch.Tensor) -> torch.Tensor:
    """Q(s, ·) from a distributional network's outputs (..., A·atoms) → (..., A)."""
    probs = outputs.view(*outputs.shape[:-1], n_actions, support.numel()).softmax(dim=-1)
    return (probs * support).sum(dim=-1)


def categorical_td_loss(online: nn.Module, target_net: nn.Module, batch: dict[str, torch.Tensor], n_actions: int,
                        support: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DER's loss per sample (and priority), any leading axes (a batch (B,), or stacked seeds'
    (S, B)): the network passes in a fixed order (online on s, online on s' for the Double-Q
    choice, target on s'), the projection row by row."""
    atoms, lead = support.numel(), batch["action"].shape

    def chosen(distribution: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        index = actions[..., None, None].expand(*lead, 1, atoms)
        return distribution.view(*lead, n_actions, atoms).gather(-2, index).squeeze(-2)

    log_probs = F.log_softmax(chosen(online(batch["obs"]), batch["action"]), dim=-1)
    with torch.no_grad():
        best = expected_values(online(batch["next_obs"]), n_actions, support).argmax(dim=-1)  # Double Q selection
        next_probs = target_net(batch["next_obs"]).view(*lead, n_actions, atoms).softmax(dim=-1)
        target = categorical_projection(chosen(next_probs, best).reshape(-1, atoms), batch["returns"].reshape(-1),
                                        batch["discount"].reshape(-1), support).view(*lead, atoms)
    per_sample = -(target * log_probs).sum(dim=-1)
    return per_sample, per_sample.detach()
