"""Train the seeds of one agent variant in one process: networks stacked, environments in lock step.

The single-seed loop (:mod:`plasticlab.agents.loop`) spends most of a MinAtar step in per-call
overhead: a batch-1 forward to act and, every ``update_every`` steps, a small update. Here the S
seeds of one variant ("members") share one stacked online network, one stacked target and one
optimiser (``plasticlab.supervised.stacking``: a leading member axis, batched products where they
round exactly as the solo layer, member by member where they would not), so one call serves every
member. Everything a seed draws stays its own: member *i* is built right after ``seed_everything``
of its seed, owns its environments, replay (with the replay's RNG), ε-greedy RNG, frame stacker and
loop counters, and calls them in the order its solo run does. Each member's metrics therefore equal
the solo run's of that seed, row for row and bit for bit on CPU
(``tests/agents/test_members.py``); a job is faster, not different (``benchmarks/batched_agents.py``).

Members step in lock step: every member takes environment step t before any takes t+1, and all
update at the same steps (the update schedule depends on the step count only; ``learning_starts ≥
n_step`` guarantees every replay can be sampled then). A member whose loss turns non-finite is
marked ``diverged`` and stops (its slice keeps being updated on its last batch, harmlessly: no
member's arithmetic reads another's). Evaluation and diagnostics run each member's solo network,
loaded from its slice, through the solo code.

Checkpoints are written every ``checkpoint_every`` steps at a step boundary, into the first run's
checkpoint directory (``checkpoints/members``) under a fingerprint of every member's run config.
Members are mid-episode then: an environment that saves its state (MinAtar) is saved with it; any
other (ALE) is rebuilt on resume by replaying the episode's actions from its seed. SIGTERM/SIGUSR1
checkpoint at the next step and stop. A restarted job resumes to the same metrics.

Noisy nets (DER) draw per member from a generator holding the member's solo torch RNG state
(``agents.member_layers``), only in the passes its solo run makes.

What stacks (else :class:`NotStackable`, and the study trains the seeds one by one): DQN and DER on
the CPU, MinAtar or ALE environments, no intervention, plasticity injection (not into a noisy
head), Hare & Tortoise (step-counted resets), resets every N updates, Soft MoE / top-1 MoE
(member by member inside the MoE block), layer norm, shrink & perturb or ReDo every N updates
(``agents.member_hooks``), one intervention at a time, the ``fused`` or ``plasticlab`` optimiser,
and a network of linear (noisy or not), convolution, norm, flatten, dueling, MoE and element-wise
layers.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import signal
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from plasticlab import interventions
from plasticlab.agents.der import DER, categorical_td_loss, expected_values
from plasticlab.agents.dqn import DQN, td_loss
from plasticlab.agents import member_layers, member_softmoe
from plasticlab.agents.member_hooks import MEMBER_HOOKS, MemberHooks
from plasticlab.agents.member_layers import MemberNoise, attach_layout, attach_noise
from plasticlab.agents.loop import (LoopState, Protocol, _episode_seed, build_agent, diagnostics, evaluate,
                                    metrics_frame)
from plasticlab.agents.replay import FrameReplay, FrameStacker, ReplayBatch
from plasticlab.envs import life_loss_is_terminal
from plasticlab.interventions import TrainContext
from plasticlab.interventions._util import copy_module_state, reset_optimizer_state
from plasticlab.interventions.hare_tortoise import HareTortoise
from plasticlab.interventions.reset import Reset
from plasticlab.nets import weight_layers
from plasticlab.optim import make_adamw
from plasticlab.runtime import preemption
from plasticlab.runtime.checkpoint import load_resumable_checkpoint, run_fingerprint, save_checkpoint
from plasticlab.runtime.seeding import seed_everything
from plasticlab.supervised.stacking import NotStackable, member_state, register_stacker, stack_modules

log = logging.getLogger(__name__)

for _layer, _stacker in {**member_layers.STACKERS, **member_softmoe.STACKERS}.items():
    register_stacker(_layer, _stacker)

# Fewest seeds a job stacks (``benchmarks/batched_agents.py``, MinAtar DQN, one CPU thread, after
# warm-up, on a machine where the since removed grouped convolution was taken: 2 seeds 1.07x, 3 seeds
# 1.41x, 5 seeds 1.19-1.37x the sequential runs; 5 seeds 1.14-1.23x member by member; a short 2-seed
# job of the default config was slower stacked, 4.0 s vs 3.7 s, from the stacked kernels' first calls).
MIN_SEEDS = 3


@dataclass
class Member:
    """One seed of the batch: everything its solo run would own, and where its episode stands."""

    run: Any  # RunSpec
    agent: DQN  # the solo agent: evaluation, diagnostics and the update counter run through it
    env: Any
    eval_env: Any
    replay: FrameReplay
    stacker: FrameStacker
    eval_stacker: FrameStacker
    action_rng: np.random.Generator
    life_loss_terminal: bool
    generator: torch.Generator  # the torch draws of its solo run (noisy nets), from its state after building
    state: LoopState = field(default_factory=LoopState)
    obs: np.ndarray | None = None
    lives: int = 0
    episode_return: float = 0.0
    episode_steps: int = 0
    in_episode: bool = False
    ended: bool = False
    episode_actions: list[int] = field(default_factory=list)  # to rebuild an environment without a state_dict
    last_batch: ReplayBatch | None = None

    @property
    def active(self) -> bool:
        return not self.state.diverged

    def record(self, phase: str, values: dict[str, float]) -> None:
        self.state.rows.extend((self.state.step, phase, metric, float(value)) for metric, value in values.items())

    def begin_episode(self) -> None:
        frame, info = self.env.reset(seed=_episode_seed(self.run.seed, self.state.episode))
        self.obs = self.stacker.reset(frame)
        self.replay.start_episode(frame)
        self.lives, self.episode_return, self.episode_steps = info.get("lives", 0), 0.0, 0
        self.in_episode, self.ended, self.episode_actions = True, False, []

    def env_step(self, action: int, total_steps: int, clip_rewards: bool) -> None:
        frame, reward, terminated, truncated, info = self.env.step(action)
        self.episode_actions.append(int(action))
        life_lost = info.get("lives", self.lives) < self.lives
        self.lives = info.get("lives", self.lives)
        self.ended = terminated or truncated
        learn_reward = float(np.sign(reward)) if clip_rewards else float(reward)
        self.replay.add(action, learn_reward, frame, terminal=terminated or (life_lost and self.life_loss_terminal),
                        episode_end=self.ended or self.state.step + 1 >= total_steps)
        self.obs = self.stacker.push(frame)
        self.episode_return += reward
        self.episode_steps += 1
        self.state.step += 1

    def end_episode(self) -> None:
        """After the step that ended the episode (or the run): the solo loop's episode bookkeeping."""
        if self.episode_steps and self.ended:
            self.record("train", {"episode_return": self.episode_return, "episode_length": self.episode_steps})
        self.state.episode += 1
        self.in_episode = False

    def checkpoint_state(self) -> dict[str, Any]:
        return {"replay": self.replay.state_dict(), "action_rng": self.action_rng.bit_generator.state,
                "generator": self.generator.get_state(),
                "updates": self.agent.ctx.step, "episode_actions": list(self.episode_actions),
                "env": self.env.state_dict() if hasattr(self.env, "state_dict") else None,
                "stacker": self.stacker._frames.copy(),
                "loop": {"step": self.state.step, "episode": self.state.episode, "rows": self.state.rows,
                         "diverged": self.state.diverged},
                "episode": {"obs": self.obs, "lives": self.lives, "episode_return": self.episode_return,
                            "episode_steps": self.episode_steps, "in_episode": self.in_episode}}

    def load_checkpoint_state(self, saved: dict[str, Any]) -> None:
        self.replay.load_state_dict(saved["replay"])
        self.action_rng.bit_generator.state = saved["action_rng"]
        self.generator.set_state(saved["generator"])
        self.agent.ctx.step = saved["updates"]
        self.stacker._frames[:] = saved["stacker"]
        self.state = LoopState(**saved["loop"])
        for name, value in saved["episode"].items():
            setattr(self, name, value)
        self.episode_actions = list(saved["episode_actions"])
        if saved["env"] is not None:
            self.env.load_state_dict(saved["env"])
        elif self.in_episode:
            # no state to load (ALE): the episode again from its seed with the same actions, which
            # reproduces the emulator (and its sticky-action RNG, seeded at reset) exactly
            self.env.reset(seed=_episode_seed(self.run.seed, self.state.episode))
            for action in self.episode_actions:
                self.env.step(action)


class StackedAgent:
    """The members' online and target networks and optimiser, stacked along a leading axis.

    :meth:`update` is the agent's loss function (``td_loss``, ``categorical_td_loss``, which take
    a member axis as is) and :meth:`DQN.update`: the same element-wise arithmetic, each member's loss its own mean
    over its batch, the gradient of their sum (each member's parameters receive exactly its own
    loss's gradient), gradient-norm clipping per member, one AdamW step updating each member's
    slice as a tensor of its own.
    """

    def __init__(self, agents: Sequence[DQN], generators: Sequence[torch.Generator]):
        first = agents[0]
        self.agent = first  # config, action count, support: the same for every member
        self.config, self.device = first.config, first.device
        self.online = stack_modules([agent.online for agent in agents])
        self.target = stack_modules([agent.target for agent in agents])  # frozen as the members' targets
        self.noise = MemberNoise(generators)
        for net in (self.online, self.target):
            attach_noise(net, self.noise)
            attach_layout(net, first.memory_format)
        if self.config.optimizer not in ("fused", "plasticlab"):
            raise NotStackable(f"optimizer {self.config.optimizer!r} cannot update stacked seeds slice by slice")
        self.optimizer = make_adamw(self.online.parameters(), self.config.optimizer, member_axis=True,
                                    lr=self.config.lr, betas=(0.9, 0.999), eps=self.config.adam_eps, weight_decay=0.0)
        # the first member's intervention object, run on the stacked network (its hooks read only
        # the step count and call methods of ``ctx.net``), or its stacked counterpart
        self.ctx = TrainContext(net=self.online, optimizer=self.optimizer, fresh_net=_no_fresh_net)
        self.intervention = first.intervention
        if isinstance(first.intervention, HareTortoise):
            self.intervention = StackedHareTortoise([agent.intervention for agent in agents])
        elif isinstance(first.intervention, Reset):
            self.intervention = StackedReset(first.intervention, agents, generators)
        elif isinstance(first.intervention, MEMBER_HOOKS):
            self.intervention = MemberHooks(agents, generators)

    def q_values(self, net: torch.nn.Module, obs: torch.Tensor) -> torch.Tensor:
        """Q(s, ·) per member: (S, B, ...) observations → (S, B, A), as the agent's ``q_values``."""
        values = net(obs)
        return expected_values(values, self.agent.n_actions, self.agent.support) if isinstance(self.agent, DER) else values

    @torch.no_grad()
    def greedy_actions(self, obs: np.ndarray, drawing: Sequence[bool]) -> np.ndarray:
        """argmax_a Q(s, a) per member for one observation each: obs (S, C, H, W) → (S,). Only the
        ``drawing`` members make this pass in their solo runs, so only they draw noise."""
        self.noise.drawing = list(drawing)
        try:
            values = self.q_values(self.online, torch.from_numpy(obs[:, None]).to(self.device))
        finally:
            self.noise.drawing = [True] * len(self.noise.generators)
        return values[:, 0].argmax(dim=1).cpu().numpy()

    def update(self, batches: Sequence[ReplayBatch]) -> tuple[torch.Tensor, torch.Tensor]:
        """One gradient step for every member on its own batch; returns each member's loss (S,)
        and new priorities (S, B)."""
        def stacked(name: str) -> torch.Tensor:
            return torch.from_numpy(np.stack([getattr(batch, name) for batch in batches])).to(self.device)

        batch = {name: stacked(name) for name in ("obs", "next_obs", "action", "returns", "discount", "weights")}
        per_sample, priorities = STACKED_LOSSES[type(self.agent)](self, batch)
        losses = torch.stack([row.mean() for row in (batch["weights"] * per_sample).unbind(0)])
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        if self.config.max_grad_norm is not None:
            self._clip_grad_norms(self.config.max_grad_norm)
        self.optimizer.step()
        self.ctx.step += 1
        if isinstance(self.intervention, MemberHooks):
            self.intervention.batches = batches
        self.intervention.after_step(self.ctx)
        return losses.detach(), priorities

    @torch.no_grad()
    def _clip_grad_norms(self, max_norm: float) -> None:
        """``nn.utils.clip_grad_norm_`` member by member: each member's total norm over its own
        gradient slices (copied to memory of their own, as its solo tensors), the same coefficient."""
        grads = [param.grad for param in self.online.parameters() if param.grad is not None]
        for member in range(len(self.noise.generators)):
            total = torch.nn.utils.get_total_norm([grad[member].clone() for grad in grads])
            coefficient = torch.clamp(max_norm / (total + 1e-6), max=1.0)
            torch._foreach_mul_([grad[member] for grad in grads], coefficient)

    def sync_target(self) -> None:
        self.target.load_state_dict(self.online.state_dict())

    def load_member(self, agent: DQN, member: int) -> None:
        """Copy a member's slice into its solo agent's networks (before evaluating it)."""
        pairs = [(self.online, agent.online), (self.target, agent.target)]
        if isinstance(self.intervention, StackedHareTortoise):  # the Tortoise is what is evaluated
            pairs.append((self.intervention.tortoise, agent.intervention.tortoise))
        for stacked, solo in pairs:
            state = stacked.state_dict()
            # 0-d entries hold one value for all members (plasticity injection's flag)
            shared = {name: value for name, value in state.items() if value.dim() == 0}
            per_member = member_state({name: value for name, value in state.items() if value.dim() > 0}, member)
            solo.load_state_dict({**per_member, **shared})

    def state_dict(self) -> dict[str, Any]:
        return {"online": self.online.state_dict(), "target": self.target.state_dict(),
                "optimizer": self.optimizer.state_dict(), "updates": self.ctx.step,
                "intervention": self.intervention.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.ctx.step = state["updates"]
        self.intervention.load_state_dict(state["intervention"], self.ctx)  # e.g. frozen flags, the Tortoise


class StackedHareTortoise:
    """Hare & Tortoise (``interventions.hare_tortoise``) over stacked members: the members'
    Tortoises stacked; after every update Tortoise ← ema·Tortoise + (1 − ema)·Hare with the solo
    run's two ``_foreach`` calls on each member's slices (a vectorised kernel rounds an element by
    where it sits in its tensor, so each slice must be a tensor of its own), and every
    ``reset_every_steps`` updates the Hare ← Tortoise (exact copies)."""

    def __init__(self, parts: Sequence[HareTortoise]):
        first = parts[0]
        if first.reset_every_epochs is not None or first.reset_optimizer:
            raise NotStackable("hare_tortoise with epoch resets or optimiser resets is not implemented per member")
        self.ema, self.reset_every_steps = first.ema, first.reset_every_steps
        self.tortoise = stack_modules([part._require_tortoise() for part in parts])  # frozen as theirs

    @torch.no_grad()
    def after_step(self, ctx: TrainContext) -> None:
        hare = ctx.net.state_dict()
        slow_slices, fast_slices = [], []
        for name, slow in self.tortoise.state_dict().items():
            if slow.dtype.is_floating_point:
                slow_slices.extend(slow.unbind(0))
                fast_slices.extend(hare[name].unbind(0))
            else:
                slow.copy_(hare[name])
        torch._foreach_mul_(slow_slices, self.ema)
        torch._foreach_add_(slow_slices, fast_slices, alpha=1.0 - self.ema)
        if ctx.step % self.reset_every_steps == 0:
            copy_module_state(ctx.net, self.tortoise)

    def state_dict(self) -> dict[str, Any]:
        return {"tortoise": {name: value.detach().clone() for name, value in self.tortoise.state_dict().items()}}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        self.tortoise.load_state_dict(state["tortoise"])


class StackedReset:
    """Resets (``interventions.reset``) over stacked members, every ``every_steps`` updates: each
    member's fresh network is built by its solo agent's ``fresh_net`` while torch's global RNG
    holds the member's state (as in its solo run), and the chosen layers are copied into its
    slices; the optimiser forgets those parameters for every member at once (they all reset)."""

    def __init__(self, reset: Reset, agents: Sequence[DQN], generators: Sequence[torch.Generator]):
        if reset.every_steps is None:  # agent runs have one task: task-start resets never fire
            raise NotStackable("a reset without every_steps never fires in an agent run; nothing to stack")
        self.reset, self.agents, self.generators = reset, list(agents), list(generators)

    @torch.no_grad()
    def after_step(self, ctx: TrainContext) -> None:
        if ctx.step % self.reset.every_steps != 0:
            return
        chosen = dict(weight_layers(ctx.net)) if self.reset.layers != "all" else {"": ctx.net}
        names = list(chosen)[-int(self.reset.layers):] if self.reset.layers != "all" else [""]
        for member, (agent, generator) in enumerate(zip(self.agents, self.generators)):
            torch.set_rng_state(generator.get_state())
            fresh = dict(agent.ctx.fresh_net().named_modules())
            generator.set_state(torch.get_rng_state())
            for name in names:
                live = chosen[name].state_dict(keep_vars=True)
                for key, value in fresh[name].state_dict().items():
                    if live[key].dim() == value.dim() + 1:  # stacked: this member's slice
                        live[key][member].copy_(value)
        if self.reset.reset_optimizer:
            for name in names:
                reset_optimizer_state(ctx.optimizer, chosen[name].parameters())

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any], ctx: TrainContext) -> None:
        pass


def _no_fresh_net() -> torch.nn.Module:
    raise NotStackable("an intervention that builds fresh networks is not implemented per member")


def dqn_loss(learner: StackedAgent, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return td_loss(learner.online, learner.target, batch, learner.config.double)


def der_loss(learner: StackedAgent, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return categorical_td_loss(learner.online, learner.target, batch, learner.agent.n_actions, learner.agent.support)


# The agents whose seeds stack, with their loss (the solo loss functions take a member axis as is).
STACKED_LOSSES = {DQN: dqn_loss, DER: der_loss}
# Interventions that stack: plasticity injection through its own hook (``after_step`` with the
# stacked network as ``ctx.net``: one flag flipped at the same update for all members); Hare &
# Tortoise by :class:`StackedHareTortoise` (its EMA slice by slice, as the solo tensors round);
# resets every N updates by :class:`StackedReset` (each member's fresh layers from its own RNG);
# Soft MoE and top-1 MoE (an architecture, no hook) by ``agents.member_softmoe``; layer norm (an
# architecture) by the stacked norms; shrink & perturb and ReDo every N updates by
# ``agents.member_hooks`` (each member's solo intervention on its solo network).
STACKED_INTERVENTIONS = {"plasticity_injection", "hare_tortoise", "reset", "softmoe", "layernorm", "shrink_perturb",
                         "redo"}


def check_stackable(runs: Sequence[Any]) -> None:
    """Raise :class:`NotStackable` naming why these runs cannot train as one batch."""
    if len(runs) < 2:
        raise NotStackable("a single seed")
    first = runs[0]
    if any(run.device != "cpu" for run in runs):
        raise NotStackable("stacked agents run on the CPU only")
    if any(run.config != first.config or run.study != first.study for run in runs):
        raise NotStackable("the runs differ in their configs")
    if len({run.seed for run in runs}) != len(runs):
        raise NotStackable("a seed appears twice")
    spec = interventions.normalise_spec(first.config["interventions"])
    unknown = [item["name"] for item in spec if item["name"] not in STACKED_INTERVENTIONS]
    if unknown:
        raise NotStackable(f"interventions {', '.join(unknown)} are not implemented per member")
    if len(spec) > 1:
        raise NotStackable("combined interventions are not implemented per member")


def build_members(runs: Sequence[Any]) -> tuple[list[Member], StackedAgent]:
    """Each member built as its solo run builds it (right after seeding with its seed)."""
    check_stackable(runs)
    members = []
    for run in runs:
        seed_everything(run.seed)
        agent, env, eval_env, replay, stacker = build_agent(run)
        if type(agent) not in STACKED_LOSSES:
            raise NotStackable(f"the {agent.name} agent is not implemented per member")
        if agent.config.learning_starts < agent.config.n_step:
            raise NotStackable("learning_starts < n_step: members could start updating at different steps")
        generator = torch.Generator()
        generator.set_state(torch.get_rng_state())
        members.append(Member(run, agent, env, eval_env, replay, stacker,
                              FrameStacker(stacker.frame_shape, stacker.stack), np.random.default_rng(run.seed),
                              life_loss_is_terminal(run.config["env"]), generator))
    return members, StackedAgent([member.agent for member in members], [member.generator for member in members])


def members_fingerprint(runs: Sequence[Any]) -> str:
    return hashlib.sha256(" ".join(run_fingerprint(run) for run in runs).encode()).hexdigest()[:16]


def members_checkpoint_dir(runs: Sequence[Any]) -> Any:
    return runs[0].checkpoint_dir / "members"


@preemption.safe_points()  # SIGTERM/SIGUSR1: checkpoint at the next step, then stop
def train_members(runs: Sequence[Any], crash_after_checkpoints: int | None = None) -> list[pd.DataFrame]:
    """Train ``runs`` (the seeds of one variant) together; one metrics frame per run, each equal
    to what :func:`plasticlab.agents.loop.train_agent` returns for that run alone."""
    runs = list(runs)
    members, learner = build_members(runs)
    protocol = Protocol.from_config(runs[0].config["protocol"])
    config = learner.config
    n_actions = members[0].agent.n_actions
    fingerprint = members_fingerprint(runs)
    directory = members_checkpoint_dir(runs)
    step, pending_losses = 0, []
    resumed = load_resumable_checkpoint(directory, fingerprint)
    if resumed is not None:
        _, saved = resumed
        learner.load_state_dict(saved["learner"])
        for member, member_saved in zip(members, saved["members"]):
            member.load_checkpoint_state(member_saved)
        step = saved["step"]
        pending_losses = [torch.tensor(row) for row in saved["pending_losses"]]
        log.info("resuming %d seeds at step %d", len(members), step)

    checkpoints_written = 0
    next_checkpoint = (step // protocol.checkpoint_every + 1) * protocol.checkpoint_every

    def checkpoint() -> None:
        nonlocal checkpoints_written
        save_checkpoint(directory, step, {
            "learner": learner.state_dict(), "members": [member.checkpoint_state() for member in members],
            "step": step, "pending_losses": [row.tolist() for row in pending_losses], "fingerprint": fingerprint})
        checkpoints_written += 1
        if crash_after_checkpoints is not None and checkpoints_written >= crash_after_checkpoints:
            log.warning("fault injection: killing this process after %d checkpoints", checkpoints_written)
            os.kill(os.getpid(), signal.SIGKILL)

    def evaluate_member(index: int, member: Member) -> None:
        """The solo code on the member's solo networks, drawing from its own torch generator (the
        diagnostics' forward pass draws noisy-net noise, as in its solo run)."""
        learner.load_member(member.agent, index)
        final = member.state.step >= protocol.steps and protocol.final_eval_episodes is not None
        episodes = protocol.final_eval_episodes if final else protocol.eval_episodes
        torch.set_rng_state(member.generator.get_state())
        returns = evaluate(member.agent, member.eval_env, member.eval_stacker, episodes, member.run.seed,
                           member.state.step // protocol.eval_every, protocol.eval_max_steps)
        member.record("eval", {"eval_return": float(np.mean(returns))})
        log.info("seed %d, step %d: evaluation return %.2f over %d episodes", member.run.seed, member.state.step,
                 np.mean(returns), len(returns))
        member.record("diagnostics", diagnostics(member.agent, member.replay, protocol.diagnostics_batch))
        member.generator.set_state(torch.get_rng_state())

    if step == 0 and not any(member.state.rows for member in members):
        for index, member in enumerate(members):
            evaluate_member(index, member)
    seeds = ",".join(str(run.seed) for run in runs)
    progress = tqdm(total=protocol.steps, initial=step, desc=f"{runs[0].study}/{runs[0].variant}/seeds={seeds}",
                    unit="step", disable=None, mininterval=2.0)
    while step < protocol.steps and any(member.active for member in members):
        active = [member for member in members if member.active]
        for member in active:
            if not member.in_episode:
                member.begin_episode()
        epsilon = config.epsilon(step)
        actions: dict[int, int] = {}
        for index, member in enumerate(members):  # the solo run's draws, in its order
            if member.active and epsilon > 0.0 and member.action_rng.random() < epsilon:
                actions[index] = int(member.action_rng.integers(n_actions))
        if len(actions) < len(active):
            greedy = learner.greedy_actions(np.stack([member.obs for member in members]),
                                            [member.active and index not in actions for index, member in enumerate(members)])
        for index, member in enumerate(members):
            if member.active:
                action = actions[index] if index in actions else int(greedy[index])
                member.env_step(action, protocol.steps, config.clip_rewards)
        step += 1
        progress.update(1)

        if step >= config.learning_starts and step % config.update_every == 0:
            beta = config.importance_sampling(step, protocol.steps) if config.prioritised else 0.0
            for member in active:
                member.last_batch = member.replay.sample(config.batch_size, beta)
            losses, priorities = learner.update([member.last_batch for member in members])
            for index, member in enumerate(members):
                if not member.active:
                    continue
                if config.prioritised:
                    member.replay.update_priorities(member.last_batch.indices, priorities[index].cpu().numpy())
                member.agent.ctx.step += 1
            pending_losses.append(losses)
            if len(pending_losses) >= protocol.log_every_updates:
                table = torch.stack(pending_losses)
                pending_losses.clear()
                for index, member in enumerate(members):
                    if not member.active:
                        continue
                    mean_loss = float(table[:, index].contiguous().mean())
                    if not math.isfinite(mean_loss):
                        member.state.diverged = True
                        log.error("seed %d, step %d: loss is %s; the run diverged and stops here",
                                  member.run.seed, member.state.step, mean_loss)
                        member.end_episode()
                        continue
                    member.record("train", {"loss": mean_loss})
        if step >= config.learning_starts and step % config.target_update_env_steps == 0:
            learner.sync_target()
        if step % protocol.eval_every == 0 or step == protocol.steps:
            for index, member in enumerate(members):
                if member.active:
                    evaluate_member(index, member)
        for member in members:
            if member.active and member.in_episode and (member.ended or step >= protocol.steps):
                member.end_episode()
        if (step >= next_checkpoint or preemption.requested()) and any(member.active for member in members):
            checkpoint()
            next_checkpoint = (step // protocol.checkpoint_every + 1) * protocol.checkpoint_every
            preemption.stop_if_requested(f"step {step}")
    progress.close()
    frames = []
    unlogged = torch.stack(pending_losses) if pending_losses else None  # losses since the last log point
    for index, member in enumerate(members):
        if unlogged is not None and member.active:
            # a non-finite loss since the last log point also counts
            member.state.diverged = not math.isfinite(float(unlogged[:, index].contiguous().mean()))
        member.record("summary", {"diverged": float(member.state.diverged), "updates": float(member.agent.ctx.step)})
        frames.append(metrics_frame(member.run, member.state.rows))
    return frames
