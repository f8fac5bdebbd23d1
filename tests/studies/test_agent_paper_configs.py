"""The agent studies' paper and MinAtar configs resolve (after merging over config/config.yaml) to
the settings docs/fidelity-agents.md cites: a value the default config leaks into a paper run, or a
silently changed default, fails here."""

from __future__ import annotations

import pytest
import torch

from plasticlab import interventions, nets, studies
from plasticlab.agents import get_agent
from plasticlab.config import load_config
from plasticlab.envs import life_loss_is_terminal
from plasticlab.nets.softmoe import SoftMoE


def resolved(files: list[str], study: str, variant: str = "none") -> tuple[dict, object]:
    section = load_config(*files)["studies"][study]
    env = next(name for name, entry in section["envs"].items() if entry.get("enabled", True))
    run = studies.get(study).run_config(section, f"{env}.{variant}")
    return run, get_agent(run["agent"]).config_class.from_options(run["agent_options"])


PAPER = ["config/config.yaml", "config/paper.yaml"]
MINATAR = ["config/config.yaml", "config/minatar.yaml"]


def test_injection_paper_config_is_dopamines_double_dqn_on_the_sticky_action_protocol():
    pytest.importorskip("ale_py")
    run, agent = resolved(PAPER, "injection")
    assert (agent.double, agent.lr, agent.adam_eps, agent.update_every) == (True, 6.25e-5, 1.5e-4, 4)
    assert (agent.target_update_env_steps, agent.learning_starts, agent.replay_capacity) == (8_000, 20_000, 1_000_000)
    assert (agent.epsilon_end, agent.epsilon_decay_steps, agent.eval_epsilon) == (0.01, 250_000, 0.001)
    assert run["env"]["sticky_actions"] == 0.25 and run["env"]["noop_max_eval"] == 0
    assert not life_loss_is_terminal(run["env"])
    assert (run["model"]["padding"], run["model"]["init"]) == ("same", "xavier_uniform")
    injection = studies.get("injection").run_config(load_config(*PAPER)["studies"]["injection"], "alien.injection")
    updates_at_half = (run["protocol"]["steps"] // 2 - agent.learning_starts) // agent.update_every
    assert injection["interventions"][0]["at_step"] == updates_at_half


def test_softmoe_paper_config_is_dopamines_labs_moes_der():
    pytest.importorskip("ale_py")
    run, agent = resolved(PAPER, "softmoe")
    assert (agent.n_step, agent.double, agent.lr, agent.adam_eps) == (10, True, 1e-4, 1.5e-4)
    assert (agent.learning_starts, agent.update_every, agent.target_update_env_steps) == (1_600, 1, 2_000)
    assert agent.replay_capacity >= run["protocol"]["steps"] and agent.max_grad_norm is None
    assert (agent.importance_sampling_start, agent.importance_sampling_end) == (0.5, 0.5)
    assert (agent.epsilon(0), agent.epsilon(10**6), agent.eval_epsilon) == (0.0, 0.0, 0.001)
    assert life_loss_is_terminal(run["env"])
    section = load_config(*PAPER)["studies"]["softmoe"]
    four = studies.get("softmoe").run_config(section, "alien.soft4")
    net = interventions.build(four["interventions"]).build(nets.build_net(four["model"], (4, 84, 84), 6))
    moe = next(m for m in net if isinstance(m, SoftMoE))
    assert (moe.n_experts, moe.slots_per_expert, moe.experts.hidden, moe.experts.noisy) == (4, 31, 512, True)
    assert net(torch.zeros(1, 4, 84, 84, dtype=torch.uint8)).shape == (1, 6 * 51)


def test_hare_tortoise_paper_config_is_der():
    pytest.importorskip("ale_py")
    run, agent = resolved(PAPER, "hare_tortoise")
    assert (agent.n_step, agent.lr, agent.max_grad_norm, agent.eval_epsilon) == (20, 1e-4, 10.0, 0.001)
    assert agent.replay_capacity >= run["protocol"]["steps"] and agent.target_update_env_steps == 2_000
    hare = studies.get("hare_tortoise").run_config(load_config(*PAPER)["studies"]["hare_tortoise"], "alien.hare_tortoise")
    assert hare["interventions"] == [{"name": "hare_tortoise", "ema": 0.999, "reset_every_steps": 20_000}]


@pytest.mark.parametrize("study, double", [("injection", True), ("softmoe", False)])
def test_minatar_tier_dqn_settings(study, double):
    run, agent = resolved(MINATAR, study)
    assert (agent.double, agent.lr, agent.adam_eps, agent.batch_size, agent.replay_capacity) == (
        double, 2.5e-4, 3.125e-4, 32, 100_000)
    assert (agent.learning_starts, agent.update_every, agent.target_update_env_steps) == (5_000, 4, 1_000)
    assert (agent.epsilon(5_000), agent.epsilon(105_000), agent.eval_epsilon) == (1.0, pytest.approx(0.1), 0.001)
    assert run["model"] == {"name": "qnet", "torso": "minatar", "hidden": 128, "pixel_scale": 1.0}
    assert run["protocol"]["steps"] == 500_000
    section = load_config(*MINATAR)["studies"][study]
    games = sorted(entry["env"]["game"] for entry in section["envs"].values() if entry.get("enabled", True))
    assert games == ["breakout", "space_invaders"] and section["seeds"] >= 3


def test_minatar_tier_der_settings_are_ders_not_the_smoke_configs():
    run, agent = resolved(MINATAR, "hare_tortoise")
    assert (agent.n_step, agent.learning_starts, agent.update_every, agent.target_update_env_steps) == (20, 1_600, 1, 2_000)
    assert run["protocol"]["steps"] == 100_000 and agent.replay_capacity >= 100_000


def test_the_stacked_minatar_overlay_puts_each_variant_s_seeds_in_one_job():
    """``config/minatar_stacked.yaml``: one job per variant (its 3 seeds stacked), and otherwise
    the tier's settings unchanged; the tier alone keeps one job per seed."""
    tier = load_config(*MINATAR)["studies"]
    stacked = load_config(*MINATAR, "config/minatar_stacked.yaml")["studies"]
    for name in ("injection", "softmoe", "hare_tortoise"):
        study = studies.get(name)
        study.check_job_shape(stacked[name])
        assert study.seeds_in_one_job(stacked[name]) and not study.seeds_in_one_job(tier[name])
        assert {key: value for key, value in stacked[name].items() if key != "seeds_per_job"} == \
            {key: value for key, value in tier[name].items() if key != "seeds_per_job"}
