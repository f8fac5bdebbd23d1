"""FrameReplay against a naive reference that stores every stacked observation and recomputes
n-step targets with plain loops; prioritised sampling against p^alpha / sum; the sum tree
against np.cumsum / np.searchsorted."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from plasticlab.agents.replay import FrameReplay, FrameStacker
from plasticlab.agents.sum_tree import SumTree

FRAME_SHAPE = (2, 3, 3)
GAMMA = 0.9


def episode_stream(seed: int, episodes: int, frame_shape=FRAME_SHAPE):
    """Random episodes: life-loss terminals inside episodes, true terminals and time-limit
    truncations at their ends, and a few episodes abandoned without an episode end."""
    rng = np.random.default_rng(seed)

    def frame():
        return rng.integers(0, 256, size=frame_shape, dtype=np.uint8)

    for _ in range(episodes):
        yield ("start", frame())
        length = int(rng.integers(1, 13))
        abandoned = rng.random() < 0.1
        for step in range(length):
            last = step == length - 1 and not abandoned
            terminal = bool(rng.random() < 0.5) if last else bool(rng.random() < 0.15)
            reward = float(np.float32(rng.normal()))  # representable in the buffer's float32
            yield ("step", int(rng.integers(0, 6)), reward, frame(), terminal, last)


class ReferenceReplay:
    """One record per stored frame, in a deque that forgets the oldest once `capacity` are held;
    each record keeps its full stacked observation, built with its own deque of frames."""

    def __init__(self, capacity: int, stack: int, n_step: int, gamma: float):
        self.capacity, self.stack, self.n_step, self.gamma = capacity, stack, n_step, gamma
        self.records: deque[dict] = deque(maxlen=capacity)
        self.recent_frames: deque[np.ndarray] = deque(maxlen=stack)
        self.written = 0
        self.episode_open = False

    def _store(self, frame: np.ndarray, first_id: int) -> None:
        self.recent_frames.append(frame)
        self.records.append({"id": self.written, "first_id": first_id, "obs": np.concatenate(self.recent_frames),
                             "action": None, "reward": None, "terminal": False, "end": False})
        self.written += 1

    def start(self, frame: np.ndarray) -> None:
        if self.episode_open and len(self.records) > 1 and self.records[-2]["action"] is not None \
                and self.records[-2]["first_id"] == self.records[-1]["first_id"]:
            self.records[-2]["end"] = True  # an abandoned episode counts as truncated
        for _ in range(self.stack):
            self.recent_frames.append(np.zeros_like(frame))
        self._store(frame, first_id=self.written)
        self.episode_open = True

    def step(self, action: int, reward: float, frame: np.ndarray, terminal: bool, end: bool) -> None:
        current = self.records[-1]
        current.update(action=action, reward=reward, terminal=terminal, end=end)
        self._store(frame, first_id=current["first_id"])
        self.episode_open = not end

    def transitions(self) -> dict[int, dict]:
        """Sampleable transitions keyed by ring slot (write id modulo capacity)."""
        records = list(self.records)
        oldest = records[0]["id"]
        out = {}
        for position, record in enumerate(records):
            if record["action"] is None:
                continue
            if max(record["id"] - self.stack + 1, record["first_id"]) < oldest:
                continue  # part of its stack was overwritten
            returns, steps, discount = 0.0, None, None
            for k in range(self.n_step):
                if position + k >= len(records) or records[position + k]["action"] is None:
                    break  # window still open
                later = records[position + k]
                returns += self.gamma ** k * later["reward"]
                if later["terminal"]:
                    steps, discount = k + 1, 0.0
                    break
                if later["end"]:
                    steps, discount = k + 1, self.gamma ** (k + 1)
                    break
            else:
                steps, discount = self.n_step, self.gamma ** self.n_step
            if steps is None:
                continue
            out[record["id"] % self.capacity] = {
                "obs": record["obs"], "action": record["action"], "returns": np.float32(returns),
                "next_obs": records[position + steps]["obs"], "discount": np.float32(discount)}
        return out


def feed(event, *buffers) -> None:
    for buffer in buffers:
        if isinstance(buffer, ReferenceReplay):
            buffer.start(event[1]) if event[0] == "start" else buffer.step(*event[1:])
        else:
            buffer.start_episode(event[1]) if event[0] == "start" else buffer.add(*event[1:])


def assert_matches_reference(replay: FrameReplay, reference: ReferenceReplay) -> None:
    expected = reference.transitions()
    assert replay.valid_indices().tolist() == sorted(expected)
    assert len(replay) == len(expected)
    if not expected:
        return
    batch = replay.batch_at(np.array(sorted(expected)))
    for row, slot in enumerate(sorted(expected)):
        want = expected[slot]
        assert np.array_equal(batch.obs[row], want["obs"]), slot
        assert np.array_equal(batch.next_obs[row], want["next_obs"]), slot
        assert batch.action[row] == want["action"]
        assert batch.returns[row] == want["returns"], (batch.returns[row], want["returns"])
        assert batch.discount[row] == want["discount"]
    assert batch.obs.dtype == np.uint8 and batch.action.dtype == np.int64
    assert batch.returns.dtype == np.float32 and batch.discount.dtype == np.float32
    assert np.array_equal(batch.indices, sorted(expected)) and np.all(batch.weights == 1.0)


@pytest.mark.parametrize("stack,n_step,capacity", [(4, 3, 17), (4, 3, 7), (4, 1, 9), (1, 1, 2), (2, 5, 13), (3, 2, 64)])
def test_every_transition_matches_the_reference(stack, n_step, capacity):
    replay = FrameReplay(capacity, FRAME_SHAPE, stack=stack, n_step=n_step, gamma=GAMMA)
    reference = ReferenceReplay(capacity, stack, n_step, GAMMA)
    steps = 0
    for event in episode_stream(seed=stack * 100 + n_step, episodes=60):
        feed(event, replay, reference)
        assert_matches_reference(replay, reference)
        steps += event[0] == "step"
    assert steps > 5 * capacity  # the ring wrapped several times


def test_frame_stacker_builds_the_replays_stacks():
    replay = FrameReplay(20, FRAME_SHAPE, stack=4, n_step=2, gamma=GAMMA)
    stacker = FrameStacker(FRAME_SHAPE, stack=4)
    acted = {}  # write id -> stacked obs seen by the acting loop
    written = 0
    for event in episode_stream(seed=7, episodes=40):
        feed(event, replay)
        frame = event[1] if event[0] == "start" else event[3]
        acted[written] = stacker.reset(frame) if event[0] == "start" else stacker.push(frame)
        written += 1
        slots = replay.valid_indices()
        batch = replay.batch_at(slots)
        for row, slot in enumerate(slots):
            assert np.array_equal(batch.obs[row], acted[int(replay.write_id[slot])])
    assert acted[written - 1].shape == (4 * FRAME_SHAPE[0], *FRAME_SHAPE[1:])


def test_frames_are_stored_once():
    replay = FrameReplay(1000, (1, 84, 84), stack=4, n_step=3)
    assert replay.frames.dtype == np.uint8
    assert replay.frames.nbytes == 1000 * 1 * 84 * 84


def filled(capacity=31, prioritised=False, episodes=40, seed=3, **kwargs) -> tuple[FrameReplay, ReferenceReplay]:
    replay = FrameReplay(capacity, FRAME_SHAPE, stack=4, n_step=3, gamma=GAMMA, seed=seed,
                         prioritised=prioritised, **kwargs)
    reference = ReferenceReplay(capacity, 4, 3, GAMMA)
    for event in episode_stream(seed=seed, episodes=episodes):
        feed(event, replay, reference)
    return replay, reference


@pytest.mark.parametrize("prioritised", [False, True])
def test_sampling_never_returns_an_invalid_transition(prioritised):
    replay, reference = filled(prioritised=prioritised)
    allowed = set(reference.transitions())
    drawn = np.concatenate([replay.sample(32, beta=0.4).indices for _ in range(300)])
    assert set(drawn.tolist()) <= allowed
    assert len(set(drawn.tolist())) == len(allowed)  # and every valid one is reachable


def test_uniform_sampling_is_uniform_over_valid_transitions():
    replay, _ = filled()
    drawn = np.concatenate([replay.sample(50).indices for _ in range(400)])
    counts = np.bincount(drawn, minlength=replay.capacity)[replay.valid_indices()]
    expected = len(drawn) / len(replay)
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def sampling_frequencies(replay: FrameReplay, draws: int = 40_000, batch: int = 100) -> np.ndarray:
    drawn = np.concatenate([replay.sample(batch).indices for _ in range(draws // batch)])
    return np.bincount(drawn, minlength=replay.capacity) / len(drawn)


def test_prioritised_sampling_follows_priorities_to_the_alpha():
    alpha, eps = 0.6, 1e-3
    replay, _ = filled(prioritised=True, priority_exponent=alpha, priority_eps=eps)
    slots = replay.valid_indices()
    priorities = np.random.default_rng(0).uniform(0.0, 3.0, size=len(slots))
    replay.update_priorities(slots, priorities)
    masses = (priorities + eps) ** alpha
    draws = 40_000
    frequencies = sampling_frequencies(replay, draws)
    expected = masses / masses.sum()
    assert frequencies[slots] == pytest.approx(expected, abs=5 * np.sqrt(expected.max() / draws))
    assert frequencies.sum() == pytest.approx(frequencies[slots].sum())


def test_prioritised_sampling_is_stratified():
    """Draw k of a batch of B lands in the k-th of B equal segments of the total mass."""
    replay, _ = filled(prioritised=True, priority_exponent=1.0, priority_eps=0.0)
    slots = replay.valid_indices()
    priorities = np.random.default_rng(1).uniform(0.5, 2.0, size=len(slots))
    replay.update_priorities(slots, priorities)
    mass = np.zeros(replay.capacity)
    mass[slots] = priorities
    mass_after = np.cumsum(mass)
    mass_before = mass_after - mass
    size = 8
    for _ in range(50):
        drawn = replay.sample(size).indices
        segment = np.arange(size) * mass_after[-1] / size
        assert np.all(mass_after[drawn] >= segment - 1e-9)
        assert np.all(mass_before[drawn] <= segment + mass_after[-1] / size + 1e-9)


def test_importance_weights_follow_the_formula():
    alpha, beta, eps = 0.5, 0.4, 1e-6
    replay, _ = filled(prioritised=True, priority_exponent=alpha, priority_eps=eps)
    slots = replay.valid_indices()
    priorities = np.linspace(0.1, 4.0, len(slots))
    replay.update_priorities(slots, priorities)
    probability = dict(zip(slots.tolist(), (priorities + eps) ** alpha / ((priorities + eps) ** alpha).sum()))
    batch = replay.sample(16, beta=beta)
    raw = (len(slots) * np.array([probability[i] for i in batch.indices.tolist()])) ** -beta
    np.testing.assert_allclose(batch.weights, raw / raw.max(), rtol=1e-6)
    assert batch.weights.dtype == np.float32 and batch.weights.max() == 1.0
    assert np.all(replay.sample(16, beta=0.0).weights == 1.0)


def test_update_priorities_changes_frequencies_and_new_transitions_get_the_max():
    replay = FrameReplay(40, FRAME_SHAPE, stack=2, n_step=1, gamma=GAMMA, prioritised=True, priority_exponent=1.0)
    events = list(episode_stream(seed=11, episodes=12))
    for event in events[:25]:
        feed(event, replay)
    slots = replay.valid_indices()
    favourite = slots[0]
    before = sampling_frequencies(replay, 10_000)[favourite]
    assert before == pytest.approx(1 / len(slots), abs=0.02)  # all start at priority 1
    replay.update_priorities(slots, np.where(slots == favourite, 9.0, 0.01))
    after = sampling_frequencies(replay, 10_000)[favourite]
    assert after > 0.9
    # New transitions enter with the largest priority seen (9 + eps), so they dominate the rest.
    for event in events[25:35]:
        feed(event, replay)
    new = np.setdiff1d(replay.valid_indices(), slots)
    assert len(new) > 0
    frequencies = sampling_frequencies(replay, 10_000)
    assert frequencies[new].min() > 0.5 * frequencies[favourite]


def test_priority_updates_for_overwritten_slots_are_ignored():
    events = list(episode_stream(seed=13, episodes=30))
    replay = FrameReplay(15, FRAME_SHAPE, stack=4, n_step=3, gamma=GAMMA, prioritised=True)
    for event in events[:40]:
        feed(event, replay)
    drawn = replay.valid_indices()
    for event in events[40:48]:  # the learner lags behind: some drawn slots get overwritten
        feed(event, replay)
    stale = drawn[~replay.valid[drawn]]
    assert len(stale) > 0
    replay.update_priorities(drawn, np.full(len(drawn), 5.0))
    sampled = np.concatenate([replay.sample(32).indices for _ in range(100)])
    assert np.all(replay.valid[sampled])


def test_sum_tree_matches_cumsum_and_searchsorted():
    rng = np.random.default_rng(5)
    for capacity in (1, 2, 7, 64, 1000):
        tree = SumTree(capacity)
        leaves = np.zeros(capacity)
        for _ in range(20):
            indices = rng.integers(0, capacity, size=int(rng.integers(1, 3 * capacity + 2)))
            values = rng.uniform(0, 2, size=len(indices)) * (rng.random(len(indices)) > 0.2)
            tree.set(indices, values)
            for index, value in zip(indices, values):  # last write wins
                leaves[index] = value
            single = int(rng.integers(0, capacity))
            leaves[single] = rng.uniform(0, 2)
            tree.set_scalar(single, leaves[single])
            assert tree.total() == pytest.approx(leaves.sum(), rel=1e-12, abs=1e-12)
            np.testing.assert_array_equal(tree.get(np.arange(capacity)), leaves)
            if leaves.sum() == 0:
                continue
            targets = rng.uniform(0, leaves.sum(), size=500)
            np.testing.assert_array_equal(tree.find(targets),
                                          np.searchsorted(np.cumsum(leaves), targets, side="right"))
            assert np.all(leaves[tree.find(targets)] > 0)


def test_sum_tree_rounding_never_lands_on_an_empty_leaf():
    tree = SumTree(8)
    tree.set(np.array([0, 3, 5]), np.array([0.1, 0.2, 0.3]))
    tree.set(np.array([6, 7]), 0.0)
    assert tree.find(np.array([tree.total(), tree.total() * (1 + 1e-12)])).tolist() == [5, 5]
    with pytest.raises(ValueError):
        tree.set(np.array([1]), np.array([np.nan]))
    with pytest.raises(ValueError):
        tree.set_scalar(1, -1.0)
    with pytest.raises(ValueError):
        tree.set(np.array([8]), 1.0)
    with pytest.raises(ValueError):
        SumTree(4).find(np.array([0.0]))


@pytest.mark.parametrize("prioritised", [False, True])
@pytest.mark.parametrize("through_npz", [False, True])
def test_state_dict_round_trip_resumes_exactly(prioritised, through_npz, tmp_path):
    events = list(episode_stream(seed=21, episodes=50))
    original = FrameReplay(29, FRAME_SHAPE, stack=4, n_step=3, gamma=GAMMA, seed=9, prioritised=prioritised)
    for event in events[:200]:
        feed(event, original)
    batch = original.sample(8)
    original.update_priorities(batch.indices, np.arange(8.0))
    state = original.state_dict()
    if through_npz:
        np.savez(tmp_path / "replay.npz", **state)
        with np.load(tmp_path / "replay.npz") as stored:
            state = dict(stored)
    restored = FrameReplay(29, FRAME_SHAPE, stack=4, n_step=3, gamma=GAMMA, seed=12345, prioritised=prioritised)
    restored.load_state_dict(state)
    for event in events[200:]:
        feed(event, original, restored)
        first, second = original.sample(8, beta=0.5), restored.sample(8, beta=0.5)
        for name in ("obs", "action", "returns", "next_obs", "discount", "indices", "weights"):
            assert np.array_equal(getattr(first, name), getattr(second, name)), name
        original.update_priorities(first.indices, first.returns ** 2)
        restored.update_priorities(second.indices, second.returns ** 2)


def test_load_state_dict_rejects_another_configuration():
    replay, _ = filled()
    other = FrameReplay(31, FRAME_SHAPE, stack=4, n_step=1, gamma=GAMMA)
    with pytest.raises(ValueError, match="n_step"):
        other.load_state_dict(replay.state_dict())


def test_clear_errors():
    replay = FrameReplay(10, FRAME_SHAPE, stack=2)
    with pytest.raises(ValueError, match="empty"):
        replay.sample(4)
    with pytest.raises(ValueError, match="start_episode"):
        replay.add(0, 0.0, np.zeros(FRAME_SHAPE, np.uint8), False, False)
    with pytest.raises(ValueError, match="uint8"):
        replay.start_episode(np.zeros(FRAME_SHAPE, np.float32))
    with pytest.raises(ValueError, match="shape"):
        replay.start_episode(np.zeros((1, 3, 3), np.uint8))
    replay.start_episode(np.zeros(FRAME_SHAPE, np.uint8))
    with pytest.raises(ValueError, match="shape"):
        replay.add(0, 0.0, np.zeros((3, 3), np.uint8), False, False)
    with pytest.raises(ValueError, match="uint8"):
        FrameStacker(FRAME_SHAPE, 4).reset(np.zeros(FRAME_SHAPE, np.int64))
    with pytest.raises(ValueError, match="capacity"):
        FrameReplay(6, FRAME_SHAPE, stack=4, n_step=3)
    replay.add(0, 0.0, np.zeros(FRAME_SHAPE, np.uint8), False, True)
    with pytest.raises(ValueError, match="sampleable"):
        replay.batch_at(np.array([1]))
