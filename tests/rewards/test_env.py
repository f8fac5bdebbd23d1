"""The rendered room: ground truth, deterministic frames, gym API = tabular dynamics, true captions."""

from __future__ import annotations

import numpy as np

from plasticlab.rewards import ShapesRoomEnv, TabularRoom
from plasticlab.rewards.render import AGENT, REACH, render_codes
from plasticlab.rewards.scenes import KINDS, NOTHING, Layout, captions, goal_text, sample_captioned_scenes

# 3x3 room: red square (kind 0) at cell 0, blue circle at cell 8
RED_SQUARE, BLUE_CIRCLE = KINDS.index(("red", "square")), KINDS.index(("blue", "circle"))
LAYOUT = Layout(3, (0, 8), (RED_SQUARE, BLUE_CIRCLE))


def test_ground_truth_is_four_adjacency():
    assert [LAYOUT.success(cell, RED_SQUARE) for cell in range(1, 8)] == [True, False, True, False, False, False, False]
    assert LAYOUT.adjacent_kinds(4) == [] and sorted(LAYOUT.adjacent_kinds(5)) == [BLUE_CIRCLE]
    room = TabularRoom(LAYOUT)
    assert list(room.cells) == [1, 2, 3, 4, 5, 6, 7]
    assert room.goals == ["the agent is next to the red square", "the agent is next to the blue circle"]
    assert room.success.tolist() == [[True, False, True, False, False, False, False],
                                     [False, False, False, False, True, False, True]]


def test_rendering_is_deterministic_and_draws_what_the_scene_holds():
    frames = TabularRoom(LAYOUT).frames(8)
    assert frames.shape == (7, 24, 24, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, TabularRoom(LAYOUT).frames(8))
    assert len({f.tobytes() for f in frames}) == 7  # every state looks different
    frame = frames[3]  # agent at the centre cell 4
    centre = frame[8:16, 8:16]
    assert (centre == AGENT).all(axis=-1).sum() > 10  # the agent's plus
    assert (frame[0:8, 8:16][0] == REACH).all()  # the cell above is outlined (in reach)
    assert not (frame[0:8, 0:8][0] == REACH).all()  # the corner is not
    assert (frame[2:6, 2:6] == (220, 40, 40)).all()  # the red square fills its cell's interior


def test_gym_env_steps_like_the_tabular_room_and_reports_ground_truth():
    env = ShapesRoomEnv(LAYOUT, cell_px=8, horizon=5)
    room = env.room
    rng = np.random.default_rng(0)
    for episode in range(20):
        obs, info = env.reset(seed=episode, options={"goal": episode % 2})
        assert not info["success"] and obs.shape == env.observation_space.shape
        state = info["state"]
        for _ in range(5):
            action = int(rng.integers(4))
            obs, reward, terminated, truncated, info = env.step(action)
            state = room.next_state[state, action]
            assert info["state"] == state and reward == float(room.success[info["goal"], state]) == info["success"]
            np.testing.assert_array_equal(obs, room.frames(8)[state])
            if terminated or truncated:
                break
    assert room.next_state[room.state_of[1], 2] == room.state_of[1]  # left of cell 1 is the red square: blocked


def test_sampled_captions_are_true_of_their_scenes():
    codes, caption = sample_captioned_scenes(np.random.default_rng(1), 300, 5, 5, 0.75)
    texts = captions()
    assert texts[-1] == NOTHING and texts[3] == goal_text(3)
    positives = 0
    for scene, index in zip(codes, caption):
        flat = scene.ravel()
        agent = int(np.flatnonzero(flat == 1)[0])
        cells = np.flatnonzero(flat >= 2)
        layout = Layout(5, tuple(cells), tuple(flat[cells] - 2))
        assert len(cells) == 5
        if index == len(KINDS):
            assert layout.adjacent_kinds(agent) == []
        else:
            assert index in layout.adjacent_kinds(agent)
            positives += 1
    assert 0.6 < positives / 300 < 0.95
    assert render_codes(codes[:4], 8).shape == (4, 40, 40, 3)
