"""DQN (Mnih et al. 2015) with the choices of Dopamine's JAX/Adam DQN, Double DQN optional.

One update reads top to bottom in :func:`td_loss`: Q(s, a) of the online network against
``R + γ^K max_a' Q_target(s', a')`` (or the online network's argmax with ``double``), Huber
loss, importance weights if the replay is prioritised. Everything else an agent needs (target
network, acting, optimiser, interventions, state for checkpoints) lives in this base class, and
DER overrides only the config and the loss.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from plasticlab.agents.replay import ReplayBatch
from plasticlab.interventions import Intervention, TrainContext
from plasticlab.optim import make_adamw


# Options that were renamed or moved, with what to write instead (a config still using one fails
# with this message rather than silently falling back to a default).
RETIRED_OPTIONS = {
    "target_update_every": "target_update_env_steps (environment steps between target copies, Dopamine's "
                           "target_update_period; the retired option counted updates: multiply it by update_every)",
    "life_loss_terminal": "nothing here: whether a life loss ends the bootstrap is a property of the environment "
                          "protocol (env: {life_loss_terminal: ...}, by default true without sticky actions, as "
                          "Atari-100k, and false with them, as Dopamine's long runs)",
}


@dataclass(frozen=True)
class DQNConfig:
    """Defaults: Dopamine's JAX DQN (Castro et al. 2018; `dopamine/jax/agents/dqn/configs/dqn.gin`:
    Adam 6.25e-5, ε 1.5e-4, Huber, batch 32, update every 4 steps, target copied every 8,000
    environment steps = 2,000 updates, ε-greedy 1 → 0.01 over 250k steps, evaluation ε 0.001).
    Every period here counts environment steps, as Dopamine's "agent steps". Study configs
    override what a protocol changes (MinAtar: Young & Tian 2019)."""

    gamma: float = 0.99
    lr: float = 6.25e-5
    adam_eps: float = 1.5e-4
    batch_size: int = 32
    replay_capacity: int = 1_000_000
    learning_starts: int = 20_000         # env steps before the first update
    update_every: int = 4                 # env steps per update (replay ratio 1/4)
    target_update_env_steps: int = 8_000  # env steps between target-network copies (2,000 updates here)
    epsilon_start: float = 1.0
    epsilon_end: float = 0.01
    epsilon_decay_steps: int = 250_000
    eval_epsilon: float = 0.001
    n_step: int = 1
    double: bool = False
    max_grad_norm: float | None = None
    stack: int = 4                        # frames per observation (1 for MinAtar)
    clip_rewards: bool = True             # training only; evaluation reports raw game score
    prioritised: bool = False
    priority_exponent: float = 0.5
    importance_sampling_start: float = 0.4
    importance_sampling_end: float = 1.0
    channels_last: bool = True           # NHWC convolutions: ~20% faster Nature-CNN updates on CPU (oneDNN)
    optimizer: str = "fused"              # plasticlab.optim AdamW on torch's fused kernel (no torch.optim import)

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> "DQNConfig":
        """Defaults overridden by a config's ``agent_options``; an unknown key is a clear error."""
        options = dict(options or {})
        retired = sorted(set(options) & set(RETIRED_OPTIONS))
        if retired:
            raise ValueError("; ".join(f"agent option {name!r} was retired: use {RETIRED_OPTIONS[name]}"
                                       for name in retired))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"agent option(s) {', '.join(map(repr, unknown))} unknown to {cls.__name__}; "
                             f"accepted: {', '.join(sorted(known))}")
        config = cls(**options)
        for name in ("update_every", "target_update_env_steps", "batch_size", "stack", "n_step"):
            if getattr(config, name) < 1:
                raise ValueError(f"agent option {name!r} must be >= 1, got {getattr(config, name)}")
        return config

    def epsilon(self, step: int) -> float:
        """Linear decay from ``epsilon_start`` to ``epsilon_end`` over ``epsilon_decay_steps``
        env steps counted from the first update (Dopamine's schedule)."""
        progress = min(1.0, max(0, step - self.learning_starts) / max(1, self.epsilon_decay_steps))
        return self.epsilon_start + progress * (self.epsilon_end - self.epsilon_start)

    def importance_sampling(self, step: int, total_steps: int) -> float:
        """β annealed linearly to ``importance_sampling_end`` by the end of training (Schaul et al.)."""
        progress = min(1.0, step / max(1, total_steps))
        return self.importance_sampling_start + progress * (self.importance_sampling_end - self.importance_sampling_start)


def td_loss(online: nn.Module, target_net: nn.Module, batch: dict[str, torch.Tensor],
            double: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Huber loss of Q(s, a) against ``R + γ^K max_a' Q_target(s', a')`` (the online network's
    argmax with ``double``) and the new priorities |δ|, per sample. Actions on the last axis, any
    leading axes (a batch (B,), or stacked seeds' (S, B))."""
    q = online(batch["obs"]).gather(-1, batch["action"][..., None]).squeeze(-1)
    with torch.no_grad():
        next_target = target_net(batch["next_obs"])
        if double:
            best = online(batch["next_obs"]).argmax(dim=-1, keepdim=True)
            next_value = next_target.gather(-1, best).squeeze(-1)
        else:
            next_value = next_target.max(dim=-1).values
        target = batch["returns"] + batch["discount"] * next_value
    per_sample = F.smooth_l1_loss(q, target, reduction="none")
    return per_sample, (q - target).detach().abs()


class DQN:
    """Online and target networks, the optimiser and the intervention hooks around an update."""

    name: ClassVar[str] = "dqn"
    config_class: ClassVar[type[DQNConfig]] = DQNConfig
    atoms: ClassVar[int] = 1  # outputs per action

    def __init__(self, make_net: Callable[[], nn.Module], n_actions: int, config: DQNConfig,
                 intervention: Intervention, device: str | torch.device = "cpu"):
        self.config, self.n_actions, self.device = config, n_actions, torch.device(device)
        self.intervention = intervention

        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format

        def fresh_net() -> nn.Module:
            return intervention.build(make_net()).to(self.device, memory_format=self.memory_format)

        self.online = fresh_net()
        self.target = copy.deepcopy(self.online)
        for param in self.target.parameters():
            param.requires_grad_(False)
        kwargs = intervention.optimizer_kwargs({"lr": config.lr, "betas": (0.9, 0.999), "eps": config.adam_eps,
                                                "weight_decay": 0.0})
        self.optimizer = make_adamw(self.online.parameters(), config.optimizer, **kwargs)
        self.ctx = TrainContext(net=self.online, optimizer=self.optimizer, fresh_net=fresh_net)
        intervention.on_train_start(self.ctx)
        intervention.on_task_start(self.ctx, 0)

    # acting -------------------------------------------------------------------------------
    @torch.no_grad()
    def greedy_actions(self, obs: np.ndarray, net: nn.Module | None = None) -> np.ndarray:
        """argmax_a Q(s, a) for a batch of uint8 observations, without autograd."""
        values = self.q_values(net or self.online, self._obs_tensor(obs))
        return values.argmax(dim=1).cpu().numpy()

    def act(self, obs: np.ndarray, epsilon: float, rng: np.random.Generator, net: nn.Module | None = None) -> int:
        """ε-greedy action for one observation (the Q-network is skipped when exploring)."""
        if epsilon > 0.0 and rng.random() < epsilon:
            return int(rng.integers(self.n_actions))
        return int(self.greedy_actions(obs[None], net)[0])

    def q_values(self, net: nn.Module, obs: torch.Tensor) -> torch.Tensor:
        return net(obs)

    # learning -----------------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample TD loss (B,) and new priorities (B,)."""
        return td_loss(self.online, self.target, batch, self.config.double)

    def update(self, replay_batch: ReplayBatch) -> dict[str, Any]:
        """One gradient step on a replay batch; returns scalars to log and the new priorities."""
        batch = self._to_tensors(replay_batch)
        per_sample, priorities = self.loss(batch)
        loss = (batch["weights"] * per_sample).mean()
        extra = self.intervention.loss(self.ctx, batch["obs"])
        total = loss if extra is None else loss + extra
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if self.config.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.online.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.ctx.step += 1
        self.intervention.after_step(self.ctx)
        return {"loss": loss.detach(), "priorities": priorities}

    def after_env_step(self, env_step: int) -> bool:
        """Called after every environment step (counted from 1), after that step's update if any:
        copies the online network into the target every ``target_update_env_steps`` steps once
        learning has started (Dopamine's ``_train_step``). Returns whether it copied."""
        if env_step >= self.config.learning_starts and env_step % self.config.target_update_env_steps == 0:
            self.sync_target()
            return True
        return False

    def sync_target(self) -> None:
        self.target.load_state_dict(self.online.state_dict())

    def _obs_tensor(self, obs: np.ndarray) -> torch.Tensor:
        """uint8 observations on the device, in the networks' memory format (bytes, not floats)."""
        tensor = torch.from_numpy(obs).to(self.device, non_blocking=True)
        return tensor.contiguous(memory_format=self.memory_format) if tensor.dim() == 4 else tensor

    def _to_tensors(self, batch: ReplayBatch) -> dict[str, torch.Tensor]:
        device = self.device
        return {
            "obs": self._obs_tensor(batch.obs),
            "next_obs": self._obs_tensor(batch.next_obs),
            "action": torch.from_numpy(batch.action).to(device),
            "returns": torch.from_numpy(batch.returns).to(device),
            "discount": torch.from_numpy(batch.discount).to(device),
            "weights": torch.from_numpy(batch.weights).to(device),
        }

    def eval_net(self) -> nn.Module:
        """The network evaluated (and acting at evaluation): the Tortoise for Hare & Tortoise."""
        return self.intervention.eval_net(self.ctx)

    # checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"online": self.online.state_dict(), "target": self.target.state_dict(),
                "optimizer": self.optimizer.state_dict(), "intervention": self.intervention.state_dict(),
                "updates": self.ctx.step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.ctx.step = state["updates"]
        self.intervention.load_state_dict(state["intervention"], self.ctx)
