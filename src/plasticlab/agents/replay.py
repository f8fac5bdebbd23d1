"""The replay buffer shared by every value-based agent (DQN, data-efficient Rainbow).

Memory: each frame is stored once, in a preallocated uint8 ring of shape (capacity, C, H, W), and
the stacked observations (Mnih et al., 2015, "Human-level control through deep reinforcement
learning", frame stacking) and n-step returns (Sutton, 1988; Hessel et al., 2018, "Rainbow",
Eq. 2) are rebuilt at sample time with vectorised numpy indexing. At 100k transitions of 84x84
Atari frames that is ~0.7 GB instead of ~5.6 GB for stored (obs, next_obs) stacks.

Ring layout: slot s holds one frame plus the step taken from it (action, reward, terminal flag,
episode-end flag). The step from slot s leads to the frame in slot s+1. An episode of L steps
fills L+1 slots: its first frame (flagged ``episode_start``), then one frame per step; the last
one carries no step and is never a start state, but is kept so that a time-limit truncation can
bootstrap from it. A stack at slot s holds the frames of slots s-stack+1..s (oldest first),
zeroing those before the episode's first frame, exactly as `FrameStacker` does for acting.

The transition at slot s spans K = min(n_step, steps up to and including the first terminal or
episode end) steps and targets ``returns + discount * max_a Q(next_obs, a)`` with

    returns  = sum_{k<K} gamma^k r_{s+k}
    discount = gamma^K, or 0 if one of its K steps was terminal.

It is sampleable once its window is complete (K steps written) and while every frame it reads is
still in the ring: the frames of its stack back to the episode start, and slots s..s+K.

A replay built with ``grow=True`` never overwrites: when the ring is full it enlarges (by an eighth)
instead, so it holds every transition of a run however many slots episode starts take. That is
the replay of DER and Dopamine's Atari-100k agents (capacity 1M "as a proxy for unbounded memory"
for 100k steps); a ring of exactly ``steps`` slots would silently drop the first transitions.

Prioritised replay follows Schaul et al. (2016), Sec. 3.3: P(i) = p_i^alpha / sum_k p_k^alpha
with p_i = |delta_i| + eps, stratified sampling (one draw per equal segment of the total mass),
importance weights w_i = (N * P(i))^-beta / max_j w_j over the batch, and new transitions entering
with the largest priority recorded so far (1.0 at the start).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from plasticlab.agents.sum_tree import SumTree

# Rejection rounds for uniform sampling before falling back to listing every valid slot; valid
# slots are almost all of the ring, so a second round is already rare.
_UNIFORM_REJECTION_ROUNDS = 8


@dataclass
class ReplayBatch:
    """A batch of n-step transitions; B is the batch size."""

    obs: np.ndarray  # uint8 (B, stack*C, H, W): stacked observation at time t
    action: np.ndarray  # int64 (B,)
    returns: np.ndarray  # float32 (B,): sum_{k<K} gamma^k r_{t+k}
    next_obs: np.ndarray  # uint8 (B, stack*C, H, W): stacked observation at t+K
    discount: np.ndarray  # float32 (B,): gamma^K, or 0 if a terminal came within the K steps
    indices: np.ndarray  # int64 (B,): buffer slots, for update_priorities
    weights: np.ndarray  # float32 (B,): importance-sampling weights (all 1 when uniform)


def _check_frame(frame: np.ndarray, frame_shape: tuple[int, ...]) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 numpy arrays, got {getattr(frame, 'dtype', type(frame))}")
    if frame.shape != frame_shape:
        raise ValueError(f"frame shape {frame.shape} does not match the expected {frame_shape}")
    return frame


class FrameStacker:
    """The acting loop's stacked observation, built exactly as the replay rebuilds it.

    Frames are stacked oldest first along the channel axis; at an episode start the older slots
    are zero. A life loss does not reset the stacker, so stacks run across it.
    """

    def __init__(self, frame_shape: tuple[int, int, int], stack: int):
        if stack < 1:
            raise ValueError(f"stack must be >= 1, got {stack}")
        self.frame_shape = tuple(int(size) for size in frame_shape)
        self.stack = int(stack)
        self._frames = np.zeros((self.stack, *self.frame_shape), dtype=np.uint8)

    def reset(self, frame: np.ndarray) -> np.ndarray:
        """Start a new episode from `frame`; returns the stacked uint8 (stack*C, H, W)."""
        self._frames[:] = 0
        return self.push(frame)

    def push(self, frame: np.ndarray) -> np.ndarray:
        """Append the newest frame; returns the stacked uint8 (stack*C, H, W)."""
        _check_frame(frame, self.frame_shape)
        self._frames[:-1] = self._frames[1:]
        self._frames[-1] = frame
        return self._frames.reshape(-1, *self.frame_shape[1:]).copy()


class FrameReplay:
    """Ring buffer of frames with stacked-observation, n-step and prioritised sampling."""

    # the per-slot arrays: what a checkpoint stores and what growing enlarges
    _SLOT_ARRAYS = ("frames", "action", "reward", "terminal", "episode_end", "episode_start", "valid", "write_id")

    def __init__(self, capacity: int, frame_shape: tuple[int, int, int], stack: int = 4, n_step: int = 1,
                 gamma: float = 0.99, seed: int = 0, prioritised: bool = False,
                 priority_exponent: float = 0.5, priority_eps: float = 1e-6, grow: bool = False):
        if len(frame_shape) != 3:
            raise ValueError(f"frame_shape must be (C, H, W), got {frame_shape}")
        if stack < 1 or n_step < 1:
            raise ValueError(f"stack and n_step must be >= 1, got {stack} and {n_step}")
        if capacity < stack + n_step:
            raise ValueError(f"capacity {capacity} must be at least stack + n_step = {stack + n_step}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {gamma}")
        self.capacity = int(capacity)
        self.frame_shape = tuple(int(size) for size in frame_shape)
        self.stack = int(stack)
        self.n_step = int(n_step)
        self.gamma = float(gamma)
        self.prioritised = bool(prioritised)
        self.priority_exponent = float(priority_exponent)
        self.priority_eps = float(priority_eps)
        self.grow = bool(grow)  # enlarge instead of overwriting: keep every transition
        # gamma^k as Python floats, so returns match a plain loop over rewards bit for bit.
        self._gamma_powers = np.array([self.gamma ** k for k in range(self.n_step + 1)])
        self._rng = np.random.default_rng(seed)

        self.frames = np.zeros((self.capacity, *self.frame_shape), dtype=np.uint8)
        self.action = np.zeros(self.capacity, dtype=np.int64)
        self.reward = np.zeros(self.capacity, dtype=np.float32)
        self.terminal = np.zeros(self.capacity, dtype=bool)  # the step from this slot was terminal
        self.episode_end = np.zeros(self.capacity, dtype=bool)  # the step from this slot ended the episode
        self.episode_start = np.zeros(self.capacity, dtype=bool)  # this slot is an episode's first frame
        self.valid = np.zeros(self.capacity, dtype=bool)  # the transition from this slot is sampleable
        self.write_id = np.full(self.capacity, -1, dtype=np.int64)  # how many frames came before this one
        self._tree = SumTree(self.capacity) if self.prioritised else None
        self._max_priority = 1.0

        self._cursor = 0  # next slot to write
        self._frames_written = 0
        self._current_slot = -1  # slot of the frame the next step is taken from
        self._episode_steps = 0
        self._in_episode = False
        self._pending: deque[int] = deque()  # slots whose n-step window is still open

    # ----------------------------------------------------------------------------- writing

    def start_episode(self, frame: np.ndarray) -> None:
        """Store the first frame of a new episode (the environment was just reset).

        If the previous episode never saw ``episode_end``, it is closed as a time-limit
        truncation at its last frame.
        """
        _check_frame(frame, self.frame_shape)
        if self._in_episode and self._episode_steps > 0:
            self.episode_end[(self._current_slot - 1) % self.capacity] = True
            self._complete(list(self._pending))
        self._pending.clear()
        self._current_slot = self._write_frame(frame, episode_start=True)
        self._episode_steps = 0
        self._in_episode = True

    def add(self, action: int, reward: float, next_frame: np.ndarray, terminal: bool, episode_end: bool) -> None:
        """Store one environment step taken from the current frame.

        `terminal`: do not bootstrap past this step (a true terminal, or a life loss treated as
        terminal while the episode goes on). `episode_end`: the environment episode ended
        (terminated or truncated); the next call must be `start_episode`.
        """
        if not self._in_episode:
            raise ValueError("call start_episode before add (at the start, and after an episode end)")
        _check_frame(next_frame, self.frame_shape)
        slot = self._current_slot
        self.action[slot] = action
        self.reward[slot] = reward
        self.terminal[slot] = terminal
        self.episode_end[slot] = episode_end
        self._current_slot = self._write_frame(next_frame, episode_start=False)
        self._episode_steps += 1
        self._pending.append(slot)
        if terminal or episode_end:
            self._complete(list(self._pending))
            self._pending.clear()
        elif len(self._pending) == self.n_step:
            self._complete([self._pending.popleft()])
        self._in_episode = not episode_end

    def _write_frame(self, frame: np.ndarray, episode_start: bool) -> int:
        if self.grow and self._frames_written >= self.capacity:
            self._enlarge(self.capacity + max(self.capacity // 8, self.stack + self.n_step))
        slot = self._cursor
        if self._frames_written >= self.capacity:
            self._invalidate_overwritten(slot)
        self.frames[slot] = frame
        self.action[slot] = 0
        self.reward[slot] = 0.0
        self.terminal[slot] = False
        self.episode_end[slot] = False
        self.episode_start[slot] = episode_start
        self.write_id[slot] = self._frames_written
        self._cursor = (slot + 1) % self.capacity
        self._frames_written += 1
        return slot

    def _enlarge(self, capacity: int) -> None:
        """More slots at the end of a ring that has never wrapped (slot = write id): every stored
        transition keeps its slot, priority and validity."""
        if self._frames_written > self.capacity:
            raise RuntimeError("a replay can only grow before its ring wraps (build it with grow=True)")
        old = self.capacity
        for name in self._SLOT_ARRAYS:
            array = getattr(self, name)
            fill = -1 if name == "write_id" else 0
            bigger = np.full((capacity, *array.shape[1:]), fill, dtype=array.dtype)
            bigger[:old] = array
            setattr(self, name, bigger)
        if self._tree is not None:
            tree = SumTree(capacity)
            leaves = np.arange(old)
            tree.set(leaves, self._tree.get(leaves))
            self._tree = tree
        self.capacity = int(capacity)
        self._cursor = self._frames_written

    def _invalidate_overwritten(self, slot: int) -> None:
        """Slot `slot` (the oldest frame) is about to be overwritten: drop every transition that
        reads it, i.e. the one starting there and those whose stack reaches back to it."""
        dropped = [slot]
        for offset in range(1, self.stack):
            later = (slot + offset) % self.capacity
            if self.episode_start[later]:
                break
            dropped.append(later)
        for dropped_slot in dropped:
            if self.valid[dropped_slot]:
                self.valid[dropped_slot] = False
                if self._tree is not None:
                    self._tree.set_scalar(dropped_slot, 0.0)

    def _complete(self, slots: list[int]) -> None:
        """The n-step windows of `slots` closed: make them sampleable.

        A window closes at most n_step frames after its start, so with capacity >= stack + n_step
        every frame it reads (stack-1 back, n_step ahead) is still in the ring.
        """
        mass = self._max_priority ** self.priority_exponent
        for slot in slots:
            self.valid[slot] = True
            if self._tree is not None:
                self._tree.set_scalar(slot, mass)

    # ---------------------------------------------------------------------------- reading

    def __len__(self) -> int:
        """Number of transitions that can be sampled now."""
        return int(np.count_nonzero(self.valid))

    def valid_indices(self) -> np.ndarray:
        """Slots of every sampleable transition (int64, ascending)."""
        return np.flatnonzero(self.valid).astype(np.int64)

    def sample(self, batch_size: int, beta: float = 0.0) -> ReplayBatch:
        """Draw `batch_size` transitions: uniformly, or by priority with importance weights."""
        count = len(self)
        if count == 0:
            raise ValueError("cannot sample from an empty replay buffer (no complete transition yet)")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if self._tree is None:
            return self._gather(self._sample_uniform(batch_size), np.ones(batch_size, dtype=np.float32))
        total = self._tree.total()
        segment = total / batch_size
        targets = (np.arange(batch_size) + self._rng.random(batch_size)) * segment
        indices = self._tree.find(np.minimum(targets, np.nextafter(total, 0.0)))
        probabilities = self._tree.get(indices) / total
        weights = (count * probabilities) ** -beta
        return self._gather(indices, (weights / weights.max()).astype(np.float32))

    def _sample_uniform(self, batch_size: int) -> np.ndarray:
        written = min(self._frames_written, self.capacity)
        indices = self._rng.integers(0, written, size=batch_size)
        for _ in range(_UNIFORM_REJECTION_ROUNDS):
            rejected = ~self.valid[indices]
            if not rejected.any():
                return indices
            indices[rejected] = self._rng.integers(0, written, size=int(rejected.sum()))
        rejected = ~self.valid[indices]
        indices[rejected] = self._rng.choice(self.valid_indices(), size=int(rejected.sum()))
        return indices

    def batch_at(self, indices: np.ndarray) -> ReplayBatch:
        """The transitions at the given slots, with unit weights (deterministic; for tests)."""
        indices = np.asarray(indices, dtype=np.int64).ravel()
        if indices.size and (indices.min() < 0 or indices.max() >= self.capacity):
            raise ValueError(f"indices must lie in [0, {self.capacity})")
        if not self.valid[indices].all():
            raise ValueError(f"slots {indices[~self.valid[indices]].tolist()} hold no sampleable transition")
        return self._gather(indices, np.ones(len(indices), dtype=np.float32))

    def _gather(self, indices: np.ndarray, weights: np.ndarray) -> ReplayBatch:
        """Rebuild stacks and n-step targets for `indices`, one numpy step per stack/n offset."""
        window = (indices[:, None] + np.arange(self.n_step)) % self.capacity  # (B, n)
        terminal = self.terminal[window]
        stops = terminal | self.episode_end[window]
        # Step j counts if no earlier step of the window was terminal or ended the episode.
        counts = np.ones_like(stops)
        counts[:, 1:] = ~np.logical_or.accumulate(stops[:, :-1], axis=1)
        steps = counts.sum(axis=1)  # K
        returns = np.zeros(len(indices), dtype=np.float64)
        rewards = self.reward[window].astype(np.float64)
        for k in range(self.n_step):
            returns += np.where(counts[:, k], self._gamma_powers[k] * rewards[:, k], 0.0)
        hit_terminal = (terminal & counts).any(axis=1)
        discount = np.where(hit_terminal, 0.0, self._gamma_powers[steps])
        return ReplayBatch(
            obs=self._stacked(indices),
            action=self.action[indices].copy(),
            returns=returns.astype(np.float32),
            next_obs=self._stacked((indices + steps) % self.capacity),
            discount=discount.astype(np.float32),
            indices=indices.astype(np.int64),
            weights=weights,
        )

    def _stacked(self, slots: np.ndarray) -> np.ndarray:
        """Stacked observations (B, stack*C, H, W) ending at `slots`, zero before episode starts."""
        offsets = np.arange(self.stack - 1, -1, -1)  # oldest first
        window = (slots[:, None] - offsets) % self.capacity  # (B, stack)
        stacks = self.frames[window]  # (B, stack, C, H, W)
        # Frame j is padding if a later frame of the stack (j+1..newest) starts the episode.
        starts = self.episode_start[window[:, 1:]]
        padding = np.zeros(window.shape, dtype=bool)
        padding[:, :-1] = np.logical_or.accumulate(starts[:, ::-1], axis=1)[:, ::-1]
        stacks[padding] = 0
        return stacks.reshape(len(slots), self.stack * self.frame_shape[0], *self.frame_shape[1:])

    # ------------------------------------------------------------------------- priorities

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Set p_i = priority_i + eps for sampled slots (priorities are |TD|-like, >= 0).

        Slots that stopped being sampleable since they were drawn are skipped. A no-op for a
        uniform buffer, so agents can call it unconditionally.
        """
        if self._tree is None:
            return
        indices = np.asarray(indices, dtype=np.int64).ravel()
        priorities = np.asarray(priorities, dtype=np.float64).ravel()
        if indices.shape != priorities.shape:
            raise ValueError(f"{indices.shape[0]} indices but {priorities.shape[0]} priorities")
        if not np.all(np.isfinite(priorities)) or np.any(priorities < 0):
            raise ValueError("priorities must be finite and >= 0")
        keep = self.valid[indices]
        if not keep.any():
            return
        priorities = priorities[keep] + self.priority_eps
        self._max_priority = max(self._max_priority, float(priorities.max()))
        self._tree.set(indices[keep], priorities ** self.priority_exponent)

    # ---------------------------------------------------------------------- checkpointing

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly, as numpy arrays and Python scalars/strings."""
        return {
            "capacity": self.capacity,
            "grow": self.grow,
            "frame_shape": np.array(self.frame_shape, dtype=np.int64),
            "stack": self.stack,
            "n_step": self.n_step,
            "gamma": self.gamma,
            "prioritised": self.prioritised,
            "priority_exponent": self.priority_exponent,
            "priority_eps": self.priority_eps,
            "frames": self.frames.copy(),
            "action": self.action.copy(),
            "reward": self.reward.copy(),
            "terminal": self.terminal.copy(),
            "episode_end": self.episode_end.copy(),
            "episode_start": self.episode_start.copy(),
            "valid": self.valid.copy(),
            "write_id": self.write_id.copy(),
            "tree": self._tree.nodes.copy() if self._tree is not None else np.zeros(0),
            "max_priority": self._max_priority,
            "cursor": self._cursor,
            "frames_written": self._frames_written,
            "current_slot": self._current_slot,
            "episode_steps": self._episode_steps,
            "in_episode": self._in_episode,
            "pending": np.array(self._pending, dtype=np.int64),
            # The generator's state holds 128-bit integers: JSON keeps them exact in one string.
            "rng_state": json.dumps(self._rng.bit_generator.state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from `state_dict` (also accepts the 0-d arrays that np.load returns). A growing
        replay first grows to the saved size."""
        if self.grow and bool(state.get("grow", False)) and int(state["capacity"]) > self.capacity:
            self._enlarge(int(state["capacity"]))
        config = {"capacity": self.capacity, "stack": self.stack, "n_step": self.n_step,
                  "gamma": self.gamma, "prioritised": self.prioritised,
                  "priority_exponent": self.priority_exponent, "priority_eps": self.priority_eps}
        for key, value in config.items():
            if type(value)(state[key]) != value:
                raise ValueError(f"replay state has {key}={state[key]}, this buffer {value}")
        if tuple(int(size) for size in state["frame_shape"]) != self.frame_shape:
            raise ValueError(f"replay state has frame_shape {tuple(state['frame_shape'])}, this buffer {self.frame_shape}")
        for name in self._SLOT_ARRAYS:
            getattr(self, name)[...] = state[name]
        if self._tree is not None:
            self._tree.nodes[...] = state["tree"]
        self._max_priority = float(state["max_priority"])
        self._cursor = int(state["cursor"])
        self._frames_written = int(state["frames_written"])
        self._current_slot = int(state["current_slot"])
        self._episode_steps = int(state["episode_steps"])
        self._in_episode = bool(state["in_episode"])
        self._pending = deque(int(slot) for slot in np.asarray(state["pending"]))
        self._rng.bit_generator.state = json.loads(str(state["rng_state"]))
