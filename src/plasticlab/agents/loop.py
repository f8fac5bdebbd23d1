"""The one acting-and-learning loop every value-based agent runs.

Per environment step: ε-greedy (or noisy-net) action from the online network without autograd,
one env step, the transition into the replay (clipped reward, and a life loss as terminal where
the environment's protocol says so, for learning; raw score for the record), every
``update_every`` steps one update on a replay batch, and every ``target_update_env_steps`` steps
a target copy. A replay whose capacity covers the whole run keeps every transition (it grows
past the slots episode starts take). Every ``eval_every`` steps the evaluated network (the
Tortoise for Hare & Tortoise) plays ``eval_episodes`` episodes on a separate environment with
no-op starts; plasticity diagnostics (dormant units, feature rank) are measured on a replay batch
at the same points, on the layers being trained (not the frozen copies of plasticity injection).

Checkpoints (network, target, optimiser, intervention, replay, every RNG, counters and metric
rows) are written at the first episode boundary after every ``checkpoint_every`` steps; each
episode starts from a seed derived from (run seed, episode number), so a killed run restarted
from its checkpoint repeats exactly what the uninterrupted run does. SIGTERM/SIGUSR1 (SLURM's
preemption and time-limit warnings) write a checkpoint at the next episode end and stop the run
(``runtime.preemption``). A non-finite loss marks the
run ``diverged`` and ends it with its metrics so far; the workflow goes on with the other seeds.
"""

from __future__ import annotations

import logging
import math
import os
import signal
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from plasticlab import interventions, nets
from plasticlab.agents import get_agent
from plasticlab.agents.dqn import DQN
from plasticlab.agents.replay import FrameReplay, FrameStacker
from plasticlab.envs import life_loss_is_terminal, make_env
from plasticlab.metrics.representation import dormant_fraction, layer_activations, srank
from plasticlab.runtime import preemption
from plasticlab.runtime.checkpoint import load_resumable_checkpoint, run_fingerprint, save_checkpoint
from plasticlab.runtime.seeding import rng_state, seed_everything, set_rng_state
from plasticlab.studies.base import RunSpec

log = logging.getLogger(__name__)
COLUMNS = ["step", "phase", "metric", "value"]


@dataclass(frozen=True)
class Protocol:
    """How long a run lasts and how often it is measured (in environment steps)."""

    steps: int
    eval_every: int
    eval_episodes: int = 5
    final_eval_episodes: int | None = None  # the final policy's evaluation (Atari-100k: 100 episodes)
    eval_max_steps: int = 27_000          # per evaluation episode (Atari: 108k frames)
    checkpoint_every: int = 10_000
    log_every_updates: int = 500
    diagnostics_batch: int = 256

    @classmethod
    def from_config(cls, protocol: dict[str, Any]) -> "Protocol":
        return cls(**protocol)


@dataclass
class LoopState:
    """Everything that changes during a run and must survive a restart."""

    step: int = 0
    episode: int = 0
    rows: list[tuple] = field(default_factory=list)
    diverged: bool = False
    pending_losses: list[float] = field(default_factory=list)  # losses since the last log point


def _episode_seed(seed: int, episode: int, evaluation: bool = False) -> int:
    return int(np.random.SeedSequence([seed, episode, int(evaluation)]).generate_state(1)[0])


def build_agent(run: RunSpec) -> tuple[DQN, Any, Any, FrameReplay, FrameStacker]:
    """The run's agent (with its interventions), training and evaluation envs, replay and stacker."""
    config = run.config
    agent_class = get_agent(config["agent"])
    agent_config = agent_class.config_class.from_options(config.get("agent_options"))
    env, eval_env = make_env(config["env"], training=True), make_env(config["env"], training=False)
    frame_shape = tuple(env.observation_space.shape)
    input_shape = (frame_shape[0] * agent_config.stack, *frame_shape[1:])
    n_actions = int(env.action_space.n)
    atoms = getattr(agent_config, "atoms", 1)
    if config["model"].get("atoms", 1) != atoms:
        raise ValueError(f"the model has {config['model'].get('atoms', 1)} atoms per action but the {config['agent']} "
                         f"agent expects {atoms}: set model.atoms and agent_options.atoms to the same value")

    def make_net() -> torch.nn.Module:  # outputs n_actions · atoms
        return nets.build_net(config["model"], input_shape, n_actions)

    agent = agent_class(make_net, n_actions, agent_config, interventions.build(config["interventions"]), run.device)
    replay = make_replay(agent_config, config["protocol"]["steps"], frame_shape, run.seed)
    return agent, env, eval_env, replay, FrameStacker(frame_shape, agent_config.stack)


def make_replay(agent_config: Any, steps: int, frame_shape: tuple[int, ...], seed: int) -> FrameReplay:
    """A ring of ``replay_capacity`` frames, or, when that covers the whole run, a replay that keeps
    every one of its ``steps`` transitions: episode starts take a slot each, so it starts with a
    small reserve and grows rather than overwrite the first transitions. Hence a run cut to
    ``steps <= replay_capacity`` is not a prefix of a longer run past the point where the longer
    run's ring first wraps: to check a long run against a short one, keep ``steps > replay_capacity``."""
    keep_all = agent_config.replay_capacity >= steps
    slots = steps + steps // 50 + agent_config.stack + agent_config.n_step if keep_all else agent_config.replay_capacity
    return FrameReplay(slots, frame_shape, agent_config.stack, agent_config.n_step, agent_config.gamma, seed=seed,
                       prioritised=agent_config.prioritised, priority_exponent=agent_config.priority_exponent,
                       grow=keep_all)


def evaluate(agent: DQN, env: Any, stacker: FrameStacker, episodes: int, seed: int, round_index: int,
             max_steps: int) -> list[float]:
    """Raw-score returns of the evaluated network over ``episodes`` episodes (eval mode: no
    noisy-net noise, ``eval_epsilon`` exploration)."""
    net = agent.eval_net()
    was_training = net.training
    net.eval()
    rng = np.random.default_rng(_episode_seed(seed, round_index, evaluation=True))
    returns = []
    try:
        for episode in range(episodes):
            frame, _ = env.reset(seed=_episode_seed(seed, round_index * 1000 + episode, evaluation=True))
            obs, total = stacker.reset(frame), 0.0
            for _ in range(max_steps):
                action = agent.act(obs, agent.config.eval_epsilon, rng, net)
                frame, reward, terminated, truncated, _ = env.step(action)
                obs, total = stacker.push(frame), total + reward
                if terminated or truncated:
                    break
            returns.append(total)
    finally:
        net.train(was_training)
    return returns


def measured_network(net: torch.nn.Module) -> torch.nn.Module:
    """The layers diagnostics measure: the trainable path of a network that has one (plasticity
    injection: encoder + the head being trained, never its frozen copies), else the network."""
    trainable_path = getattr(net, "trainable_path", None)
    return trainable_path() if callable(trainable_path) else net


@torch.no_grad()
def diagnostics(agent: DQN, replay: FrameReplay, batch_size: int) -> dict[str, float]:
    """Plasticity diagnostics of the online network on a replay batch: dormant-unit fractions
    (ReDo's score, τ = 0 and 0.1) and srank of the last hidden layer's features."""
    if len(replay) == 0:
        return {}
    obs = torch.from_numpy(replay.sample(min(batch_size, len(replay))).obs).to(agent.device)
    activations = layer_activations(measured_network(agent.online), obs)
    if not activations:
        return {}
    flat = {name: act.flatten(1) if act.dim() > 2 else act for name, act in activations.items()}
    last = list(flat.values())[-1]
    return {
        "dormant_fraction": float(np.mean(list(dormant_fraction(flat, tau=0.0).values()))),
        "dormant_fraction_tau0.1": float(np.mean(list(dormant_fraction(flat, tau=0.1).values()))),
        "feature_srank": float(srank(last)),
    }


@preemption.safe_points()  # SIGTERM/SIGUSR1: checkpoint at the next episode end, then stop
def train_agent(run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
    """Run one agent for ``protocol.steps`` env steps; long-format metrics (step, phase, metric, value)."""
    seed_everything(run.seed)
    protocol = Protocol.from_config(run.config["protocol"])
    agent, env, eval_env, replay, stacker = build_agent(run)
    eval_stacker = FrameStacker(stacker.frame_shape, stacker.stack)
    config = agent.config
    life_loss_terminal = life_loss_is_terminal(run.config["env"])
    action_rng = np.random.default_rng(run.seed)
    state = LoopState()

    fingerprint = run_fingerprint(run)
    resumed = load_resumable_checkpoint(run.checkpoint_dir, fingerprint)
    if resumed is not None:
        _, saved = resumed
        agent.load_state_dict(saved["agent"])
        replay.load_state_dict(saved["replay"])
        set_rng_state(saved["rng"])
        action_rng.bit_generator.state = saved["action_rng"]
        state = LoopState(**saved["loop"])
        log.info("resuming at step %d (episode %d)", state.step, state.episode)

    checkpoints_written = 0
    next_checkpoint = (state.step // protocol.checkpoint_every + 1) * protocol.checkpoint_every

    def checkpoint() -> None:
        nonlocal checkpoints_written
        save_checkpoint(run.checkpoint_dir, state.step, {
            "agent": agent.state_dict(), "replay": replay.state_dict(), "rng": rng_state(),
            "action_rng": action_rng.bit_generator.state, "fingerprint": fingerprint,
            "loop": {"step": state.step, "episode": state.episode, "rows": state.rows, "diverged": state.diverged,
                     "pending_losses": [float(loss) for loss in losses]},
        })
        checkpoints_written += 1
        if crash_after_checkpoints is not None and checkpoints_written >= crash_after_checkpoints:
            log.warning("fault injection: killing this process after %d checkpoints", checkpoints_written)
            os.kill(os.getpid(), signal.SIGKILL)

    def record(phase: str, values: dict[str, float]) -> None:
        state.rows.extend((state.step, phase, metric, float(value)) for metric, value in values.items())

    def run_evaluation() -> None:
        final = state.step >= protocol.steps and protocol.final_eval_episodes is not None
        episodes = protocol.final_eval_episodes if final else protocol.eval_episodes
        returns = evaluate(agent, eval_env, eval_stacker, episodes, run.seed,
                           state.step // protocol.eval_every, protocol.eval_max_steps)
        record("eval", {"eval_return": float(np.mean(returns))})
        record("diagnostics", diagnostics(agent, replay, protocol.diagnostics_batch))
        log.info("step %d: evaluation return %.2f over %d episodes", state.step, np.mean(returns), len(returns))

    if state.step == 0 and not state.rows:
        run_evaluation()
    progress = tqdm(total=protocol.steps, initial=state.step, desc=f"{run.study}/{run.variant}/seed={run.seed}",
                    unit="step", disable=None, mininterval=2.0)
    losses: list[torch.Tensor] = [torch.tensor(loss, device=agent.device) for loss in state.pending_losses]
    while state.step < protocol.steps and not state.diverged:
        frame, info = env.reset(seed=_episode_seed(run.seed, state.episode))
        obs = stacker.reset(frame)
        replay.start_episode(frame)
        lives, episode_return, episode_steps, ended = info.get("lives", 0), 0.0, 0, False
        while not ended and state.step < protocol.steps:
            action = agent.act(obs, config.epsilon(state.step), action_rng)
            frame, reward, terminated, truncated, info = env.step(action)
            life_lost = info.get("lives", lives) < lives
            lives = info.get("lives", lives)
            ended = terminated or truncated
            learn_reward = float(np.sign(reward)) if config.clip_rewards else float(reward)
            replay.add(action, learn_reward, frame, terminal=terminated or (life_lost and life_loss_terminal),
                       episode_end=ended or state.step + 1 >= protocol.steps)
            obs = stacker.push(frame)
            episode_return += reward
            episode_steps += 1
            state.step += 1
            progress.update(1)
            if state.step >= config.learning_starts and state.step % config.update_every == 0 and len(replay) > 0:
                beta = config.importance_sampling(state.step, protocol.steps) if config.prioritised else 0.0
                batch = replay.sample(config.batch_size, beta)
                result = agent.update(batch)
                if config.prioritised:
                    replay.update_priorities(batch.indices, result["priorities"].cpu().numpy())
                losses.append(result["loss"])
                if len(losses) >= protocol.log_every_updates:
                    mean_loss = float(torch.stack(losses).mean())
                    losses.clear()
                    if not math.isfinite(mean_loss):
                        state.diverged = True
                        log.error("step %d: loss is %s; the run diverged and stops here", state.step, mean_loss)
                        break
                    record("train", {"loss": mean_loss})
            agent.after_env_step(state.step)
            if state.step % protocol.eval_every == 0 or state.step == protocol.steps:
                run_evaluation()
        if episode_steps and ended:
            record("train", {"episode_return": episode_return, "episode_length": episode_steps})
        state.episode += 1
        if (state.step >= next_checkpoint or preemption.requested()) and not state.diverged:
            checkpoint()
            next_checkpoint = (state.step // protocol.checkpoint_every + 1) * protocol.checkpoint_every
            preemption.stop_if_requested(f"step {state.step} (episode {state.episode})")
    progress.close()
    if losses and not state.diverged:
        # a non-finite loss since the last log point also counts
        state.diverged = not math.isfinite(float(torch.stack(losses).mean()))
    record("summary", {"diverged": float(state.diverged), "updates": float(agent.ctx.step)})
    return metrics_frame(run, state.rows)


def metrics_frame(run: RunSpec, rows: list[tuple]) -> pd.DataFrame:
    """A run's long-format metrics: (study, variant, seed, step, phase, metric, value)."""
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.insert(0, "study", run.study)
    frame.insert(1, "variant", run.variant)
    frame.insert(2, "seed", run.seed)
    return frame
