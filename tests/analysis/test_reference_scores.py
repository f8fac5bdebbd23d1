"""Atari-100k reference scores and the normalisations built on them."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.analysis.reference_scores import (ATARI_100K_GAMES, ATARI_HUMAN_SCORES, ATARI_RANDOM_SCORES,
                                                  MINATAR_GAMES, NORMALISATIONS, atari_game, human_normalised,
                                                  minatar_game, normalise)


def test_the_26_games_and_spot_values_of_the_published_table():
    assert len(ATARI_100K_GAMES) == len(set(ATARI_100K_GAMES)) == 26
    assert set(ATARI_RANDOM_SCORES) == set(ATARI_HUMAN_SCORES) == set(ATARI_100K_GAMES)
    for game, random, human in [("Alien", 227.8, 7127.7), ("Pong", -20.7, 14.6), ("Breakout", 1.7, 30.5),
                                ("Freeway", 0.0, 29.6), ("UpNDown", 533.4, 11693.2)]:
        assert (ATARI_RANDOM_SCORES[game], ATARI_HUMAN_SCORES[game]) == (random, human)
    assert all(ATARI_HUMAN_SCORES[g] > ATARI_RANDOM_SCORES[g] for g in ATARI_100K_GAMES)


@pytest.mark.parametrize("game", ATARI_100K_GAMES)
def test_random_maps_to_zero_and_human_to_one(game):
    random, human = ATARI_RANDOM_SCORES[game], ATARI_HUMAN_SCORES[game]
    np.testing.assert_allclose(human_normalised(np.array([random, human]), game), [0.0, 1.0], atol=1e-12)


def test_game_names_in_any_usual_spelling():
    for name in ("ALE/Pong-v5", "PongNoFrameskip-v4", "pong", "Pong"):
        assert atari_game(name) == "Pong"
    assert atari_game("bank_heist") == "BankHeist" and atari_game("kung_fu_master") == "KungFuMaster"
    assert minatar_game("MinAtar/SpaceInvaders-v1") == "space_invaders" and minatar_game("Breakout") == "breakout"
    assert human_normalised(14.6, "ALE/Pong-v5") == pytest.approx(1.0)


def test_unknown_game_raises_a_key_error_listing_the_known_games():
    with pytest.raises(KeyError, match="Montezuma.*Alien.*UpNDown"):
        human_normalised(1.0, "MontezumaRevenge")
    with pytest.raises(KeyError, match="asterix.*space_invaders"):
        minatar_game("pacman")


def test_human_normalisation_of_score_matrices_and_curves():
    games = ["Pong", "Alien", "Breakout"]
    random = np.array([ATARI_RANDOM_SCORES[g] for g in games])
    human = np.array([ATARI_HUMAN_SCORES[g] for g in games])
    matrix = np.stack([random, human, (random + human) / 2])  # (3 runs, 3 games)
    curves = np.stack([matrix, matrix], axis=-1)  # (3, 3, 2 checkpoints)
    result = normalise({"a": matrix, "b": curves}, games, "human")
    np.testing.assert_allclose(result["a"], [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5]], atol=1e-12)
    np.testing.assert_allclose(result["b"][..., 1], result["a"])


def test_baseline_normalisation_for_minatar():
    rng = np.random.default_rng(0)
    scores = {"dqn": rng.uniform(5, 50, size=(4, 5)), "dqn+reset": rng.uniform(5, 50, size=(4, 5))}
    result = normalise(scores, MINATAR_GAMES, "baseline", baseline="dqn")
    np.testing.assert_allclose(result["dqn"].mean(axis=0), 1.0)  # the baseline's mean is 1 on every game
    np.testing.assert_allclose(result["dqn+reset"], scores["dqn+reset"] / scores["dqn"].mean(axis=0))
    floor = dict(zip(MINATAR_GAMES, [1.0, 2.0, 0.0, 0.5, 3.0]))
    shifted = normalise({"dqn": np.array([list(floor.values()), [9.0] * 5]), "x": np.ones((1, 5))},
                        MINATAR_GAMES, "baseline", baseline="dqn", floor=floor)
    # the baseline's mean per game maps to 1, the measured random-policy floor to 0
    np.testing.assert_allclose(shifted["dqn"].mean(axis=0), 1.0)
    np.testing.assert_allclose(shifted["dqn"][0], 0.0)
    with pytest.raises(KeyError, match="baseline"):
        normalise(scores, MINATAR_GAMES, "baseline")
    with pytest.raises(ValueError, match="reference == floor"):
        normalise({"dqn": np.zeros((2, 5))}, MINATAR_GAMES, "baseline", baseline="dqn")


def test_normalisation_is_chosen_by_name_and_checks_shapes():
    assert set(NORMALISATIONS) == {"human", "baseline", "reference", "raw"}
    scores = {"a": np.arange(6.0).reshape(2, 3)}
    np.testing.assert_array_equal(normalise(scores, ["x", "y", "z"], "raw")["a"], scores["a"])
    with pytest.raises(ValueError, match="unknown normalisation.*baseline, human, raw"):
        normalise(scores, ["x", "y", "z"], "z-score")
    with pytest.raises(ValueError, match="3 tasks"):
        normalise({"a": np.ones((2, 4))}, ["x", "y", "z"], "raw")
    with pytest.raises(KeyError, match="unknown Atari-100k game"):
        normalise(scores, ["Pong", "Alien", "Tetris"], "human")


@pytest.mark.parametrize("game", ["breakout", "space_invaders", "seaquest"])
def test_minatar_random_scores_agree_with_a_fresh_measurement(game):
    """An independent re-measurement (other seeds, 400 episodes) lies within 4 standard errors of
    the table's mean: the table is what random play scores under MinAtar's protocol."""
    from plasticlab.analysis.reference_scores import MINATAR_RANDOM_SCORES, MINATAR_RANDOM_SEM
    from plasticlab.envs.random_policy import random_policy_returns

    returns = random_policy_returns({"suite": "minatar", "game": game}, episodes=400, seed=123)
    sem = np.hypot(returns.std(ddof=1) / np.sqrt(len(returns)), MINATAR_RANDOM_SEM[game])
    assert abs(returns.mean() - MINATAR_RANDOM_SCORES[game]) < 4 * sem


def test_minatar_random_score_only_for_the_measured_protocol():
    from plasticlab.analysis.reference_scores import MINATAR_RANDOM_SCORES, minatar_random_score

    assert minatar_random_score({"suite": "minatar", "game": "breakout"}) == MINATAR_RANDOM_SCORES["breakout"]
    assert minatar_random_score({"suite": "minatar", "game": "breakout", "sticky_action_prob": 0.1}) is not None
    assert minatar_random_score({"suite": "minatar", "game": "breakout", "sticky_action_prob": 0.0}) is None
    assert minatar_random_score({"suite": "ale", "game": "Breakout"}) is None


def test_reference_normalisation_maps_random_to_zero_and_reference_to_one():
    scores = {"a": np.array([[0.5, 3.0], [10.5, 23.0]]), "b": np.array([[5.5, 13.0], [0.5, 3.0]])}
    result = normalise(scores, ["breakout", "space_invaders"], "reference",
                       floor={"breakout": 0.5, "space_invaders": 3.0}, reference={"breakout": 10.5, "space_invaders": 23.0})
    np.testing.assert_allclose(result["a"], [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(result["b"], [[0.5, 0.5], [0.0, 0.0]])
    with pytest.raises(KeyError, match="reference"):
        normalise(scores, ["breakout", "space_invaders"], "reference", floor={"breakout": 0.5})
