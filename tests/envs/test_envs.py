"""Environment factories: MinAtar equals the package's own wrapper; ALE follows the Atari-100k protocol."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.envs import ATARI_100K_GAMES, UnknownGameError, check_env_spec, make_env


@pytest.mark.parametrize("game", ["breakout", "space_invaders"])
def test_minatar_matches_the_package_environment(game):
    """Same seed, same actions: the same frames, rewards and terminals as minatar.Environment
    (sticky actions included), which our wrapper re-implements to avoid importing pyplot."""
    minatar = pytest.importorskip("minatar")
    ours = make_env({"suite": "minatar", "game": game, "sticky_action_prob": 0.1})
    reference = minatar.Environment(game, sticky_action_prob=0.1)
    frame, info = ours.reset(seed=7)
    reference.seed(7)
    reference.reset()
    assert frame.dtype == np.uint8 and frame.shape == ours.observation_space.shape
    rng = np.random.default_rng(0)
    for _ in range(400):
        action = int(rng.integers(6))
        frame, reward, terminated, truncated, info = ours.step(action)
        ref_reward, ref_terminal = reference.act(action)
        np.testing.assert_array_equal(frame, reference.state().transpose(2, 0, 1))
        assert (reward, terminated) == (ref_reward, ref_terminal)
        if terminated:
            break


def test_minatar_truncates_at_the_episode_cap():
    env = make_env({"suite": "minatar", "game": "freeway", "max_episode_steps": 5})
    env.reset(seed=0)
    flags = [env.step(0)[3] for _ in range(5)]
    assert flags == [False, False, False, False, True]


def test_minatar_reset_with_the_same_seed_repeats_the_episode():
    env = make_env({"suite": "minatar", "game": "asterix"})
    runs = []
    for _ in range(2):
        frames = [env.reset(seed=3)[0]]
        frames += [env.step(a % 6)[0] for a in range(50)]
        runs.append(np.stack(frames))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_ale_atari_100k_protocol():
    pytest.importorskip("ale_py")
    env = make_env({"suite": "ale", "game": "Breakout"})
    frame, info = env.reset(seed=1)
    assert frame.shape == (1, 84, 84) and frame.dtype == np.uint8
    start = info["frame_number"]
    _, _, _, _, info = env.step(1)
    assert info["frame_number"] - start == 4          # frame skip 4
    assert "lives" in info
    ale = env.unwrapped.ale
    assert ale.getFloat("repeat_action_probability") == 0.0   # no sticky actions
    assert ale.getInt("max_num_frames_per_episode") == 108_000


def test_ale_evaluation_env_uses_no_op_starts():
    pytest.importorskip("ale_py")
    training = make_env({"suite": "ale", "game": "Pong"}, training=True)
    evaluation = make_env({"suite": "ale", "game": "Pong"}, training=False)
    assert training.env.noop_max == 0 and evaluation.env.noop_max == 30


def test_every_atari_100k_game_has_its_rom():
    from plasticlab.envs.ale import ale_games

    assert set(ATARI_100K_GAMES) <= set(ale_games())
    assert len(ATARI_100K_GAMES) == 26


@pytest.mark.parametrize("spec, error, words", [
    ({"suite": "ale", "game": "Pongg"}, UnknownGameError, ["Pongg", "Breakout", "available"]),
    ({"suite": "minatar", "game": "pong"}, UnknownGameError, ["pong", "breakout"]),
    ({"suite": "gym", "game": "x"}, KeyError, ["gym", "minatar"]),
    ({"suite": "minatar", "game": "breakout", "frame_skip_typo": 4}, ValueError, ["frame_skip_typo"]),
])
def test_bad_environment_specs_name_the_problem(spec, error, words):
    with pytest.raises(error) as raised:
        check_env_spec(spec)
    for word in words:
        assert word in str(raised.value)


def test_options_of_the_other_suite_are_ignored():
    """Configs merge key by key: a MinAtar spec may still carry ALE options from the default."""
    check_env_spec({"suite": "minatar", "game": "breakout", "noop_max_eval": 30})
