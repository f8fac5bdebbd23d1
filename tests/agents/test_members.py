"""Seeds of one agent variant trained together (stacked networks, lock-step environments) compute
exactly what each seed computes alone: metrics equal row for row, bit for bit, also across a
SIGKILL and a restart, and one member's divergence touches no other member."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from plasticlab import studies
from plasticlab.agents import members as members_module
from plasticlab.agents.loop import train_agent
from plasticlab.agents.members import NotStackable, check_stackable, train_members
from plasticlab.envs import make_env
from plasticlab.studies.base import RunSpec
from plasticlab.supervised.stacking import StackedConv2d

VARIANT = "minatar_breakout.none"


def dqn_config(**agent_options) -> dict:
    """A short MinAtar DQN run that learns, logs losses, evaluates and copies its target."""
    options = {"stack": 1, "lr": 1e-3, "learning_starts": 60, "update_every": 2, "batch_size": 16,
               "target_update_env_steps": 50, "epsilon_decay_steps": 100, "epsilon_end": 0.1, "eval_epsilon": 0.05}
    options.update(agent_options)
    return {
        "agent": "dqn", "agent_options": options,
        "model": {"name": "qnet", "torso": "minatar", "hidden": 16, "pixel_scale": 1.0},
        "protocol": {"steps": 300, "eval_every": 100, "eval_episodes": 2, "eval_max_steps": 40, "checkpoint_every": 100,
                     "log_every_updates": 10, "diagnostics_batch": 32},
        "env": {"suite": "minatar", "game": "breakout", "max_episode_steps": 120},
        "interventions": "none", "variant": VARIANT,
    }


def runs_of(config: dict, root: Path, seeds=(0, 1, 2), prefix: str = "") -> list[RunSpec]:
    return [RunSpec("injection", VARIANT, seed, config, root / f"{prefix}seed={seed}") for seed in seeds]


def der_config(**agent_options) -> dict:
    """DER (noisy dueling C51, prioritised 3-step replay, Double Q, gradient clipping) on MinAtar."""
    config = dqn_config()
    options = {"stack": 1, "learning_starts": 60, "update_every": 2, "n_step": 3, "batch_size": 16,
               "target_update_env_steps": 50}
    options.update(agent_options)
    config.update(agent="der", agent_options=options,
                  model={"name": "qnet", "torso": "minatar", "hidden": 16, "head": "dueling", "noisy": True, "atoms": 51,
                         "pixel_scale": 1.0})
    # DER's updates cost more: a shorter run, logged more often
    config["protocol"] = {**config["protocol"], "steps": 200, "checkpoint_every": 80, "log_every_updates": 5}
    return config


@pytest.mark.parametrize("config, seeds", [
    (dqn_config(), (0, 1, 2)),
    (dqn_config(double=True, prioritised=True, n_step=3), (0, 1)),
    # noisy nets draw per member, and only in the acting passes a member's solo run makes (ε-greedy
    # on top of noisy nets, as Dopamine's Soft MoE DER); a small clip norm so that clipping acts
    (der_config(max_grad_norm=0.5, epsilon_start=0.5, epsilon_end=0.2), (0, 1)),
    # the injection study's variant: a fresh 2-layer head injected at update 40 of 120
    ({**dqn_config(), "interventions": [{"name": "plasticity_injection", "at_step": 40, "head_layers": 2}]}, (0, 1)),
    # the hare_tortoise study's method: the Tortoise's EMA every update, the Hare reset every 15
    ({**der_config(), "interventions": [{"name": "hare_tortoise", "ema": 0.9, "reset_every_steps": 15}]}, (0, 1)),
    # its baseline: the last 2 weight layers re-initialised every 25 updates (fresh noisy layers)
    ({**der_config(), "interventions": [{"name": "reset", "layers": 2, "at_task_start": False, "every_steps": 25}]},
     (0, 1)),
    # the softmoe study's variants: Soft MoE and top-1 MoE in place of the dense layer (DQN, NHWC)
    ({**dqn_config(), "interventions": [{"name": "softmoe", "experts": 4}]}, (0, 1, 2)),
    ({**dqn_config(), "interventions": [{"name": "softmoe", "experts": 4, "routing": "top1"}]}, (0, 1)),
    # the MinAtar tier's regime: a replay ring smaller than the run, so it wraps (at steps <= capacity
    # the loop keeps every transition instead) and the oldest transitions leave each member's replay
    ({**dqn_config(replay_capacity=150), "interventions": [{"name": "softmoe", "experts": 4}]}, (0, 1, 2)),
    # an NCHW network: the MoE's tokens are a transposed view there, as alone
    ({**dqn_config(channels_last=False), "interventions": [{"name": "softmoe", "experts": 2}]}, (0, 1)),
    # Dopamine's Soft MoE DER: noisy experts (per-member noise) under dense dueling streams
    ({**der_config(max_grad_norm=0.5, epsilon_start=0.5, epsilon_end=0.2),
      "model": {**der_config()["model"], "head": "dense_dueling"},
      "interventions": [{"name": "softmoe", "experts": 2}]}, (0, 1)),
    # interventions no agent study uses yet: layer norm (group norm after the conv, NHWC and NCHW),
    # shrink & perturb toward a fresh initialisation or the initial weights, ReDo (a high τ, so
    # that units are recycled and Adam's moments zeroed at every call)
    ({**dqn_config(), "interventions": [{"name": "layernorm"}]}, (0, 1)),
    ({**dqn_config(channels_last=False), "interventions": [{"name": "layernorm"}]}, (0, 1)),
    ({**dqn_config(), "interventions": [{"name": "shrink_perturb", "shrink": 0.8, "perturb": 0.2,
                                         "every_steps": 25}]}, (0, 1)),
    ({**der_config(), "interventions": [{"name": "shrink_perturb", "shrink": 0.8, "perturb": 0.05,
                                         "noise": "initial", "every_steps": 15}]}, (0, 1)),
    ({**dqn_config(), "interventions": [{"name": "redo", "tau": 0.5, "every_steps": 20}]}, (0, 1)),
], ids=["dqn", "double-prioritised-3step", "der-clipped-epsilon-greedy", "dqn-plasticity-injection",
        "der-hare-tortoise", "der-reset", "dqn-softmoe", "dqn-top1-moe", "dqn-softmoe-replay-ring-wraps", "dqn-softmoe-nchw",
        "der-noisy-softmoe", "dqn-layernorm", "dqn-layernorm-nchw", "dqn-shrink-perturb", "der-shrink-perturb-initial", "dqn-redo"])
def test_every_member_equals_its_solo_run(tmp_path, config, seeds):
    stacked = train_members(runs_of(config, tmp_path, seeds, prefix="stacked-"))
    for run, frame in zip(runs_of(config, tmp_path, seeds, prefix="solo-"), stacked):
        solo = train_agent(run)
        protocol = config["protocol"]
        assert (solo["metric"] == "loss").sum() >= 10
        assert (solo["phase"] == "eval").sum() == protocol["steps"] // protocol["eval_every"] + 1
        assert (solo["metric"] == "episode_return").any()
        pd.testing.assert_frame_equal(frame, solo, check_exact=True)
    # the seeds differ from one another (each member drew its own randomness)
    losses = [frame.loc[frame["metric"] == "loss", "value"].to_numpy() for frame in stacked]
    assert not np.array_equal(losses[0], losses[1])


def test_one_diverging_member_leaves_the_others_untouched(tmp_path, monkeypatch):
    config = dqn_config()
    build = members_module.build_members

    def poisoned(runs):
        members, learner = build(runs)
        with torch.no_grad():
            next(learner.online.parameters())[1].fill_(float("nan"))  # member 1's first weights
        return members, learner

    monkeypatch.setattr(members_module, "build_members", poisoned)
    frames = train_members(runs_of(config, tmp_path))
    summaries = [frame[frame["phase"] == "summary"].set_index("metric")["value"] for frame in frames]
    assert [summary["diverged"] for summary in summaries] == [0.0, 1.0, 0.0]
    assert frames[1]["step"].max() < config["protocol"]["steps"]
    assert not (frames[1]["metric"] == "loss").any()  # its first log point was non-finite
    for seed in (0, 2):
        solo = train_agent(runs_of(config, tmp_path, seeds=(seed,), prefix="solo-")[0])
        pd.testing.assert_frame_equal(frames[seed], solo, check_exact=True)


class Killed(Exception):
    """Stands in for the SIGKILL of fault injection (the checkpoint is on disk before it)."""


@pytest.mark.parametrize("study_name, config", [
    ("injection", {**dqn_config(), "interventions": [{"name": "plasticity_injection", "at_step": 40, "head_layers": 2}]}),
    ("hare_tortoise", {**der_config(), "interventions": [{"name": "hare_tortoise", "ema": 0.9, "reset_every_steps": 15}]}),
    # each member's initial weights (shrink & perturb's pull target) saved and restored
    ("hare_tortoise", {**der_config(), "interventions": [{"name": "shrink_perturb", "shrink": 0.8, "perturb": 0.05,
                                                          "noise": "initial", "every_steps": 15}]})],
    ids=["dqn-injected-before-the-kill", "der-hare-tortoise", "der-shrink-perturb-initial"])
def test_a_killed_stacked_job_resumes_to_the_metrics_of_the_solo_runs(tmp_path, monkeypatch, caplog, study_name,
                                                                      config):
    """The job is killed mid-episode (checkpoints land on step boundaries), restarted through the
    study's ``train_seeds`` (what ``plasticlab train --seed 0 1`` calls), and each seed's metrics
    equal its uninterrupted solo run's (DER: its noise generators, priorities and clipping too)."""
    study = studies.get(study_name)

    def kill(pid, signum):
        assert pid == os.getpid() and signum == signal.SIGKILL
        raise Killed

    monkeypatch.setattr(members_module.os, "kill", kill)
    monkeypatch.setattr(members_module, "MIN_SEEDS", 2)
    with pytest.raises(Killed):
        list(study.train_seeds(runs_of(config, tmp_path, seeds=(0, 1)), crash_after_checkpoints=2))
    with caplog.at_level("INFO"):
        resumed = list(study.train_seeds(runs_of(config, tmp_path, seeds=(0, 1))))
    killed_at = 2 * config["protocol"]["checkpoint_every"]
    assert f"resuming 2 seeds at step {killed_at}" in caplog.text and "trained the 2 seeds together" in caplog.text
    assert f"seed 1, step {config['protocol']['steps']}: evaluation return" in caplog.text  # a readable log per seed
    for run, frame in resumed:
        solo = study.train(runs_of(config, tmp_path, seeds=(run.seed,), prefix="solo-")[0])
        pd.testing.assert_frame_equal(frame, solo, check_exact=True)


def test_a_minatar_game_resumes_mid_episode_from_its_saved_state():
    env = make_env({"suite": "minatar", "game": "space_invaders"})
    env.reset(seed=7)
    rng = np.random.default_rng(0)
    for action in rng.integers(6, size=40):
        env.step(int(action))
    saved = env.state_dict()
    actions = rng.integers(6, size=60)
    first = [env.step(int(action)) for action in actions]
    other = make_env({"suite": "minatar", "game": "space_invaders"})
    other.reset(seed=123)
    other.load_state_dict(saved)
    second = [other.step(int(action)) for action in actions]
    for (frame_a, *rest_a), (frame_b, *rest_b) in zip(first, second):
        assert np.array_equal(frame_a, frame_b) and rest_a == rest_b
    with pytest.raises(ValueError, match="breakout"):
        make_env({"suite": "minatar", "game": "breakout"}).load_state_dict(saved)


@pytest.mark.parametrize("batch", [1, 32])
@pytest.mark.parametrize("memory_format", [torch.channels_last, torch.contiguous_format], ids=["nhwc", "nchw"])
def test_a_stacked_convolution_is_each_member_s_convolution_bit_for_bit(batch, memory_format):
    """Member by member, in the solo memory format: outputs and gradients equal the solo convolutions'."""
    torch.manual_seed(0)
    convs = [nn.Conv2d(4, 16, 3).to(memory_format=memory_format) for _ in range(3)]
    stacked = StackedConv2d(convs, memory_format)
    x = torch.randn(3, batch, 4, 10, 10)
    out = stacked(x)
    out.square().sum().backward()
    for member, conv in enumerate(convs):
        solo = conv(x[member].contiguous(memory_format=memory_format))
        solo.square().sum().backward()
        assert torch.equal(out[member], solo)
        assert torch.equal(stacked.weight.grad[member], conv.weight.grad)
        assert torch.equal(stacked.bias.grad[member], conv.bias.grad)


def test_runs_that_cannot_train_stacked_are_named_and_trained_one_by_one(tmp_path, caplog):
    config = dqn_config()
    with pytest.raises(NotStackable, match="interventions l2_init"):
        check_stackable(runs_of({**config, "interventions": [{"name": "l2_init", "coef": 0.1}]}, tmp_path))
    with pytest.raises(NotStackable, match="combined"):
        check_stackable(runs_of({**config, "interventions": [{"name": "hare_tortoise"},
                                                             {"name": "plasticity_injection", "at_step": 5}]}, tmp_path))
    injected_der = {**der_config(), "interventions": [{"name": "plasticity_injection", "at_step": 10}]}
    with pytest.raises(NotStackable, match="noisy head"):
        members_module.build_members(runs_of(injected_der, tmp_path, seeds=(0, 1, 2)))
    with pytest.raises(NotStackable, match="differ"):
        check_stackable([*runs_of(config, tmp_path, seeds=(0,)), *runs_of(dqn_config(lr=1e-4), tmp_path, seeds=(1,))])
    with pytest.raises(NotStackable, match="single seed"):
        check_stackable(runs_of(config, tmp_path, seeds=(0,)))
    der = {**config, "agent": "der", "agent_options": {"stack": 1, "learning_starts": 60, "n_step": 3},
           "model": {"name": "qnet", "torso": "minatar", "hidden": 16, "head": "dueling", "noisy": True, "atoms": 51,
                     "pixel_scale": 1.0}}
    der["protocol"] = {**config["protocol"], "steps": 80}
    with pytest.raises(NotStackable, match="interventions crelu"):
        check_stackable(runs_of({**config, "interventions": [{"name": "crelu"}]}, tmp_path))
    study = studies.get("hare_tortoise")
    with caplog.at_level("INFO"):
        list(studies.get("injection").train_seeds(runs_of({**config, "protocol": {**config["protocol"], "steps": 20}},
                                                          tmp_path, seeds=(0, 1), prefix="few-")))
    assert f"2 seeds: stacking pays from {members_module.MIN_SEEDS} on" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO"):
        trained = list(study.train_seeds(runs_of(der, tmp_path, seeds=(0, 1))))
    assert "one by one" in caplog.text
    assert [run.seed for run, _ in trained] == [0, 1]
    pd.testing.assert_frame_equal(trained[1][1], study.train(runs_of(der, tmp_path, seeds=(1,), prefix="solo-")[0]),
                                  check_exact=True)


def test_the_stacked_learner_refuses_per_tensor_optimisers(tmp_path):
    with pytest.raises(NotStackable, match="optimizer"):
        members_module.build_members(runs_of(dqn_config(optimizer="torch"), tmp_path, seeds=(0, 1)))


def test_stacked_atari_seeds_resume_mid_episode_by_replaying_the_episode(tmp_path, monkeypatch):
    """ALE saves no state of its own: a killed stacked job rebuilds each game by replaying the
    episode's actions from its seed, and every seed still ends with its solo run's metrics."""
    config = der_config(learning_starts=40, update_every=4, batch_size=8, stack=4)
    config.update(env={"suite": "ale", "game": "Breakout"},
                  model={"name": "qnet", "torso": "der", "hidden": 16, "head": "dueling", "noisy": True, "atoms": 51})
    config["protocol"] = {**config["protocol"], "steps": 100, "eval_every": 50, "eval_episodes": 1,
                          "eval_max_steps": 30, "checkpoint_every": 40, "log_every_updates": 2}
    replayed = []
    load = members_module.Member.load_checkpoint_state

    def load_and_count(member, saved):
        replayed.append(len(saved["episode_actions"]) if saved["env"] is None else 0)
        load(member, saved)

    def kill(pid, signum):
        raise Killed

    monkeypatch.setattr(members_module.os, "kill", kill)
    monkeypatch.setattr(members_module.Member, "load_checkpoint_state", load_and_count)
    with pytest.raises(Killed):
        train_members(runs_of(config, tmp_path, seeds=(0, 1)), crash_after_checkpoints=2)
    resumed = train_members(runs_of(config, tmp_path, seeds=(0, 1)))
    assert len(replayed) == 2 and all(actions > 0 for actions in replayed)  # both games rebuilt mid-episode
    for seed, frame in zip((0, 1), resumed):
        solo = train_agent(runs_of(config, tmp_path, seeds=(seed,), prefix="solo-")[0])
        assert (solo["metric"] == "loss").any()
        pd.testing.assert_frame_equal(frame, solo, check_exact=True)


def test_stacked_seeds_record_that_they_trained_together(tmp_path, monkeypatch):
    """Each seed's run.json names the seeds it was stacked with; its wall time is the batch's."""
    from plasticlab import cli

    monkeypatch.setattr(members_module, "MIN_SEEDS", 2)
    config = {**dqn_config(), "protocol": {**dqn_config()["protocol"], "steps": 30, "eval_every": 30}}
    code = cli.main(["train", "injection", "--variant", VARIANT, "--seed", "0", "1", "--run-config", json.dumps(config),
                     "--variant-dir", str(tmp_path)])
    assert code == 0
    records = [json.loads((tmp_path / f"seed={seed}" / "run.json").read_text()) for seed in (0, 1)]
    assert [record["trained_with_seeds"] for record in records] == [[0, 1], [0, 1]]
    assert records[0]["wall_seconds"] <= records[1]["wall_seconds"] and records[1]["seed"] == 1
