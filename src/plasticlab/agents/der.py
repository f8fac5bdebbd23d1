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
        probs = net(obs).view(-1, self.n_actions, self.atoms).softmax(dim=-1)
        return (probs * self.support).sum(dim=-1)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy between the projected target distribution and the prediction; the
        per-sample loss is also the new priority (Rainbow)."""
        batch_index = torch.arange(batch["action"].shape[0], device=self.device)
        logits = self.online(batch["obs"]).view(-1, self.n_actions, self.atoms)
        log_probs = F.log_softmax(logits[batch_index, batch["action"]], dim=-1)
        with torch.no_grad():
            best = self.q_values(self.online, batch["next_obs"]).argmax(dim=1)   # Double Q selection
            next_probs = self.target(batch["next_obs"]).view(-1, self.n_actions, self.atoms).softmax(dim=-1)
            target = categorical_projection(next_probs[batch_index, best], batch["returns"], batch["discount"],
                                            self.support)
        per_sample = -(target * log_probs).sum(dim=-1)
        return per_sample, per_sample.detach()
