"""Every study states its paper's claims; the claims of understanding, vlm_rewards and the agent
studies give known verdicts on synthetic runs pushed through the studies' own ``aggregate``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plasticlab import studies
from plasticlab.analysis.reference_scores import MINATAR_RANDOM_SCORES
from plasticlab.analysis.scoreboard import claim_rows


def verdicts(name: str, table: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """claim id -> (verdict, failed preconditions) of study ``name`` on ``table``."""
    study = studies.get(name)
    rows = [row for claim in study.claims for row in claim_rows(study, claim, table)]
    return {row["claim_id"]: (row["verdict"], row["failed_precondition"]) for row in rows}


@pytest.mark.parametrize("name", studies.available())
def test_every_study_declares_claims_with_preconditions(name):
    study = studies.get(name)
    assert study.claims, f"{name} declares no claims (Study.claims)"
    assert any(claim.preconditions for claim in study.claims), f"{name}: no claim states a precondition"
    ids = [claim.id for claim in study.claims]
    assert len(ids) == len(set(ids)) and all(claim.direction in ("greater", "less") for claim in study.claims)
    assert all(claim.text and claim.statistic_name for claim in study.claims)


# --- understanding ------------------------------------------------------------------------------

def understanding_probes(plain_loss_per_task: float, layernorm_loss_per_task: float, seeds: int = 4) -> pd.DataFrame:
    """Probe rows: plasticity falls linearly with tasks (plus a per-seed offset); the Hessian's
    top eigenvalue rises with plasticity loss in the plain network and falls in the layernorm one."""
    rows = []
    for variant, slope, sign in (("none", plain_loss_per_task, 1.0), ("layernorm", layernorm_loss_per_task, -1.0)):
        for seed in range(seeds):
            for tasks in range(4):
                plasticity = 1.0 + 0.01 * seed - slope * tasks - 0.001 * seed * tasks
                loss = (1.0 + 0.01 * seed) - plasticity
                rows += [(variant, seed, tasks, "plasticity", plasticity),
                         (variant, seed, tasks, "hessian_top_eigenvalue", 5.0 + sign * 10.0 * loss),
                         (variant, seed, tasks, "srank", 3.0 + seed)]
    frame = pd.DataFrame(rows, columns=["variant", "seed", "tasks_done", "metric", "value"])
    return frame.assign(study="understanding")


def test_understanding_claims_on_runs_with_a_known_answer():
    table = studies.get("understanding").aggregate(understanding_probes(0.1, 0.02), {})
    gap = table[table["metric"] == "plasticity_loss_minus_none"].set_index("x")["mean"]
    assert gap[3] == pytest.approx(-0.08 * 3, abs=1e-9)  # layernorm loses 0.02 per task, plain 0.1 (+ seed terms cancel)
    result = verdicts("understanding", table)
    # eigenvalue is an increasing function of plasticity loss in `none` (ρ = 1), decreasing in `layernorm`
    assert result == {"curvature_tracks_loss[layernorm]": ("contradicted", ""),
                      "curvature_tracks_loss[none]": ("reproduced", ""),
                      "layernorm_reduces_loss": ("reproduced", "")}


def test_understanding_claims_are_untestable_when_the_plain_network_keeps_its_plasticity():
    table = studies.get("understanding").aggregate(understanding_probes(-0.05, 0.02), {})
    result = verdicts("understanding", table)
    assert {verdict for verdict, _ in result.values()} == {"untestable"}
    assert {failed for _, failed in result.values()} == {"plain_loses_plasticity"}


# --- vlm_rewards ----------------------------------------------------------------------------------

def vlm_metrics(random_success: float, seeds: int = 4) -> pd.DataFrame:
    """Two reward models (1k and 5k parameters) and the oracle, per seed; the large model's F1 is
    0.5 above the small one's and its agent's success 0.3 above, the same on every seed."""
    rows = []
    for seed in range(seeds):
        wobble = 0.01 * seed
        for variant, size, f1, auc, success in (("small", 1000.0, 0.3, 0.6, 0.4), ("large", 5000.0, 0.8, 0.9, 0.7)):
            rows += [(variant, seed, "reward_f1", size, f1 + wobble), (variant, seed, "reward_roc_auc", size, auc + wobble)]
            rows += [(variant, seed, "ground_truth_success", 0.0, 0.1),
                     (variant, seed, "ground_truth_success", 100.0, success + wobble)]
        rows += [("oracle", seed, "ground_truth_success", 0.0, 0.1), ("oracle", seed, "ground_truth_success", 100.0, 0.9),
                 ("oracle", seed, "random_policy_success", 0.0, random_success + wobble)]
    return pd.DataFrame(rows, columns=["variant", "seed", "metric", "x", "value"])


def test_vlm_rewards_claims_on_runs_with_a_known_answer():
    table = studies.get("vlm_rewards").aggregate(vlm_metrics(random_success=0.2), {})
    rows = table.set_index(["metric", "variant"])
    assert rows.loc[("reward_f1_minus_smallest", "large"), "mean"] == pytest.approx(0.5)
    assert rows.loc[("reward_f1_minus_smallest", "large"), "x"] == 5000.0  # at the large model's size
    assert rows.loc[("success_minus_smallest", "large"), "mean"] == pytest.approx(0.3)
    assert rows.loc[("success_minus_random_policy", "oracle"), "mean"] == pytest.approx(0.9 - 0.2 - 0.015)
    assert verdicts("vlm_rewards", table) == {"larger_model_more_accurate_reward": ("reproduced", ""),
                                              "larger_model_more_capable_agent": ("reproduced", "")}


def test_vlm_agent_claim_is_untestable_when_the_oracle_agent_does_not_beat_random_play():
    table = studies.get("vlm_rewards").aggregate(vlm_metrics(random_success=0.95), {})
    assert verdicts("vlm_rewards", table) == {"larger_model_more_accurate_reward": ("reproduced", ""),
                                              "larger_model_more_capable_agent": ("untestable", "oracle_agent_learns")}


# --- agent studies -----------------------------------------------------------------------------------

ATARI = {"pong": {"env": {"suite": "ale", "game": "Pong"}}, "breakout": {"env": {"suite": "ale", "game": "Breakout"}}}
MINATAR = {"mb": {"env": {"suite": "minatar", "game": "breakout"}, "reference_score": 10.0}}
RANDOM = {"pong": -20.7, "breakout": 1.7, "mb": MINATAR_RANDOM_SCORES["breakout"]}  # published / measured
HUMAN = {"pong": 14.6, "breakout": 30.5, "mb": 10.0}   # MinAtar: the entry's reference score


def agent_metrics(finals: dict[str, float], envs: dict, seeds: int = 4) -> pd.DataFrame:
    """Final evaluation returns at human-normalised level ``finals[intervention]`` (+ 0.01 per
    seed) on every game, reached linearly over two evaluations."""
    rows = []
    for env in envs:
        for intervention, level in finals.items():
            for seed in range(seeds):
                final = RANDOM[env] + (level + 0.01 * seed) * (HUMAN[env] - RANDOM[env])
                for step, value in ((0, RANDOM[env]), (100, final)):
                    rows.append({"variant": f"{env}.{intervention}", "seed": seed, "step": step, "phase": "eval",
                                 "metric": "eval_return", "value": value, "env": env, "intervention": intervention})
                rows.append({"variant": f"{env}.{intervention}", "seed": seed, "step": 100, "phase": "summary",
                             "metric": "diverged", "value": 0.0, "env": env, "intervention": intervention})
    return pd.DataFrame(rows)


def agent_config(variants: list[str], envs: dict) -> dict:
    return {"envs": envs, "variants": {name: "none" for name in variants}, "plot": {"bootstrap_samples": 200}}


@pytest.mark.parametrize("name, finals, expected", [
    ("injection", {"none": 0.2, "injection": 0.5}, {"injection_improves_return": "reproduced"}),
    ("injection", {"none": 0.2, "injection": 0.1}, {"injection_improves_return": "contradicted"}),
    ("hare_tortoise", {"none": 0.2, "hare_tortoise": 0.4, "reset": 0.1},
     {"hare_tortoise_improves_return": "reproduced"}),
    ("softmoe", {"none": 0.2, "soft1": 0.3, "soft8": 0.6, "top1": 0.2},
     {"softmoe_improves_return": "reproduced", "more_experts_help": "reproduced"}),
    ("softmoe", {"none": 0.2, "soft1": 0.6, "soft8": 0.3, "top1": 0.2},
     {"softmoe_improves_return": "reproduced", "more_experts_help": "contradicted"}),
])
def test_agent_claims_on_atari_runs_with_a_known_answer(name, finals, expected):
    table = studies.get(name).aggregate(agent_metrics(finals, ATARI), agent_config(list(finals), ATARI))
    vs_random = table[table["kind"] == "vs_random"].iloc[0]
    assert vs_random["estimate"] == pytest.approx(finals["none"] + 0.015)  # IQM of seeds' +0.00..+0.03 offsets
    difference = table[(table["kind"] == "difference") & (table["baseline"] == "none")].set_index("intervention")
    for intervention, level in finals.items():
        if intervention != "none":
            assert difference.loc[intervention, "estimate"] == pytest.approx(level - finals["none"])
            assert difference.loc[intervention, "ci_low"] == pytest.approx(level - finals["none"])  # paired: exact
    assert {claim: verdict for claim, (verdict, _) in verdicts(name, table).items()} == expected


def test_agent_claims_are_untestable_when_the_plain_agent_plays_at_random_level():
    finals = {"none": -0.015, "injection": 0.5}  # seeds at -0.015 .. +0.015: a CI around 0
    table = studies.get("injection").aggregate(agent_metrics(finals, ATARI), agent_config(list(finals), ATARI))
    assert verdicts("injection", table) == {"injection_improves_return": ("untestable", "plain_beats_random")}


def test_agent_claims_on_minatar_use_the_measured_random_policy_return():
    """MinAtar is scaled from the measured random-policy return (0) to the entry's reference score
    (1), so the precondition is judged there as on Atari and the claim is tested."""
    finals = {"none": 0.5, "injection": 0.9}
    envs = {**ATARI, **MINATAR}
    table = studies.get("injection").aggregate(agent_metrics(finals, envs), agent_config(list(finals), envs))
    per_game = table[table["kind"] == "per_game"].set_index(["intervention", "task"])["estimate"]
    assert per_game[("none", "mb")] == pytest.approx(0.5 + 0.015)     # not 1 by construction
    vs_random = table[table["kind"] == "vs_random"].iloc[0]
    assert vs_random["estimate"] == pytest.approx(0.5 + 0.015) and vs_random["ci_low"] > 0
    assert verdicts("injection", table) == {"injection_improves_return": ("reproduced", "")}


def test_agent_claims_are_untestable_on_a_minatar_protocol_without_a_measured_random_score():
    finals = {"none": 0.5, "injection": 0.9}
    envs = {"mb": {"env": {"suite": "minatar", "game": "breakout", "sticky_action_prob": 0.0},
                   "reference_score": 10.0}}
    table = studies.get("injection").aggregate(agent_metrics(finals, envs), agent_config(list(finals), envs))
    vs_random = table[table["kind"] == "vs_random"].iloc[0]
    assert np.isnan(vs_random["estimate"]) and vs_random["note"] == "no random-policy score for mb"
    assert verdicts("injection", table) == {"injection_improves_return": ("untestable", "plain_beats_random")}
