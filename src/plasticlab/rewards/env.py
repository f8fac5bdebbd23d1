"""The RL task: walk to the object a language goal names, in a rendered room (gymnasium API).

Observations are RGB frames (what a reward model sees); ``info`` carries the discrete state (the
agent's cell) and the ground-truth success, which only evaluation may use. The agent cannot step
onto an object; moving into a wall or an object leaves it in place. An episode ends when the
*task reward* fires (by default the ground truth; a VLM reward model in the study) or after
``horizon`` steps. :class:`TabularRoom` is the same dynamics as arrays, for learners that update
many (goal, seed) pairs at once; a test checks that both agree step by step.
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
import numpy as np

from plasticlab.rewards.render import render_codes
from plasticlab.rewards.scenes import Layout, goal_text

MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right


class TabularRoom:
    """Transition and ground-truth tables of one layout; states index ``layout.free_cells``."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.cells = layout.free_cells
        self.state_of = {int(cell): i for i, cell in enumerate(self.cells)}
        grid = layout.grid
        self.next_state = np.empty((len(self.cells), len(MOVES)), dtype=np.int64)
        for state, cell in enumerate(self.cells):
            row, col = divmod(int(cell), grid)
            for action, (dr, dc) in enumerate(MOVES):
                r, c = row + dr, col + dc
                target = r * grid + c
                inside = 0 <= r < grid and 0 <= c < grid and target in self.state_of
                self.next_state[state, action] = self.state_of[target] if inside else state
        # success[g, s]: ground truth of goal g (the layout's g-th object) in state s
        self.success = np.array([[layout.success(cell, kind) for cell in self.cells] for kind in layout.kinds])

    @property
    def goals(self) -> list[str]:
        return [goal_text(kind) for kind in self.layout.kinds]

    def frames(self, cell_px: int) -> np.ndarray:
        """RGB frame of every state ``(states, H, W, 3)``: what a reward model is applied to, once."""
        return render_codes(np.stack([self.layout.codes(cell) for cell in self.cells]), cell_px)


class ShapesRoomEnv(gym.Env):
    """One layout, one goal per episode (``reset(options={"goal": g})``, else a random goal)."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, layout: Layout, cell_px: int = 8, horizon: int = 20,
                 task_reward: Callable[[int, int], float] | None = None) -> None:
        self.room = TabularRoom(layout)
        self.cell_px, self.horizon = cell_px, horizon
        self.task_reward = task_reward or (lambda goal, state: float(self.room.success[goal, state]))
        size = layout.grid * cell_px
        self.observation_space = gym.spaces.Box(0, 255, (size, size, 3), dtype=np.uint8)
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self.render_mode = "rgb_array"
        self.state, self.goal, self.t = 0, 0, 0

    def _frame(self) -> np.ndarray:
        return render_codes(self.room.layout.codes(int(self.room.cells[self.state])), self.cell_px)

    def _info(self) -> dict[str, Any]:
        return {"state": self.state, "goal": self.goal, "goal_text": self.room.goals[self.goal],
                "success": bool(self.room.success[self.goal, self.state])}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start in a random state where the goal is not already achieved."""
        super().reset(seed=seed)
        options = options or {}
        self.goal = int(options["goal"]) if "goal" in options else int(self.np_random.integers(len(self.room.goals)))
        starts = np.flatnonzero(~self.room.success[self.goal])
        self.state = int(options["state"]) if "state" in options else int(self.np_random.choice(starts))
        self.t = 0
        return self._frame(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.state = int(self.room.next_state[self.state, int(action)])
        self.t += 1
        reward = float(self.task_reward(self.goal, self.state))
        return self._frame(), reward, reward > 0, self.t >= self.horizon, self._info()

    def render(self) -> np.ndarray:
        return self._frame()
