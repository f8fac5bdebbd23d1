"""Replay memory computed from a config equals what the replay allocates, and training jobs ask
the cluster for it: once per seed a job holds at once."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from plasticlab import workflow
from plasticlab.agents import get_agent
from plasticlab.agents.loop import make_replay
from plasticlab.agents.memory import frame_shape, replay_bytes, replay_slots, run_replay_bytes
from plasticlab.agents.members import MIN_SEEDS
from plasticlab.envs import make_env
from plasticlab.studies.agent_runs import PROCESS_MB


def _defaults(agent: str) -> dict:
    return {field.name: field.default for field in dataclasses.fields(get_agent(agent).config_class)}


@pytest.mark.parametrize("agent, options, steps, env", [
    ("dqn", {"stack": 1, "replay_capacity": 500}, 2_000, {"suite": "minatar", "game": "space_invaders"}),
    ("der", {"stack": 4}, 1_000, {"suite": "ale", "game": "Breakout"}),  # keeps every transition, prioritised
    ("dqn", {"stack": 4, "replay_capacity": 300, "prioritised": True}, 5_000, {"suite": "ale", "game": "Pong"}),
], ids=["minatar-ring", "der-keep-all", "ale-prioritised-ring"])
def test_the_computed_replay_size_is_what_the_replay_allocates(agent, options, steps, env):
    config = get_agent(agent).config_class.from_options(options)
    replay = make_replay(config, steps, frame_shape(env), seed=0)
    allocated = sum(getattr(replay, name).nbytes for name in replay._SLOT_ARRAYS)
    allocated += replay._tree.nodes.nbytes if replay._tree is not None else 0
    defaults = _defaults(agent)
    assert replay.capacity == replay_slots(options, steps, defaults)
    assert allocated == replay_bytes(replay.capacity, frame_shape(env), config.prioritised)
    run_config = {"agent_options": options, "protocol": {"steps": steps}, "env": env}
    assert run_replay_bytes(run_config, defaults) == allocated


@pytest.mark.parametrize("env", [{"suite": "minatar", "game": game} for game in
                                 ("asterix", "breakout", "freeway", "seaquest", "space_invaders")]
                         + [{"suite": "ale", "game": "Breakout"}], ids=lambda env: env["game"])
def test_the_frame_shape_table_is_what_the_environment_emits(env):
    assert frame_shape(env) == tuple(make_env(env).observation_space.shape)


def test_agent_jobs_ask_for_every_replay_they_hold(default_config):
    section = copy.deepcopy(default_config["studies"]["injection"])
    section["envs"]["atari_breakout"]["enabled"] = False
    section["protocol"]["steps"] = 200_000
    section["agent_options"]["replay_capacity"] = 200_000  # MinAtar Breakout: 400 bytes a frame
    slots = 200_000 + 200_000 // 50 + 1 + 1  # it keeps every transition: steps + a reserve for episode starts
    replay_mb = 2 * slots * (400 + 24) / 2**20

    def shape(**changes):
        return workflow.job_shape({**default_config, "studies": {"injection": {**section, **changes}}}, "train_agent")

    assert MIN_SEEDS <= 5
    one_by_one, stacked, per_seed = shape(seeds=2), shape(seeds=5), shape(seeds=5, seeds_per_job=1)
    assert one_by_one.mem_mb == per_seed.mem_mb == pytest.approx(PROCESS_MB + replay_mb, abs=1)
    assert stacked.mem_mb == pytest.approx(PROCESS_MB + 5 * replay_mb, abs=5)
