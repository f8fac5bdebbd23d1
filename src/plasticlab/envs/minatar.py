"""MinAtar (Young & Tian 2019) through its native API, wrapped as a gymnasium environment.

The native ``minatar.Environment`` is used directly (its gymnasium ids need a registration step
and add a wrapper layer per step). Observations are the game's boolean channels as uint8
``(C, 10, 10)``. Sticky actions default to MinAtar's own 0.1; episodes are capped at
``max_episode_steps`` (truncation, so the agent still bootstraps).
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

MINATAR_GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")


def _load_game(game: str) -> Any:
    """The game's module (``minatar/environments/<game>.py``, numpy only), loaded by file.

    Importing the ``minatar`` package itself imports matplotlib's pyplot for its display (~1 s per
    job, and a warning without seaborn); the games need none of it. Sticky actions, the only
    thing the package's wrapper adds, are implemented here.
    """
    name = f"plasticlab_minatar_{game}"
    if name in sys.modules:
        return sys.modules[name]
    package = importlib.util.find_spec("minatar")
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError("MinAtar is not installed: pip install minatar==1.0.15")
    path = Path(next(iter(package.submodule_search_locations))) / "environments" / f"{game}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


class MinAtarEnv(gym.Env):
    """One MinAtar game; ``reset(seed=...)`` reseeds the game's RNG (sticky actions and spawns
    draw from it, as in MinAtar's own wrapper)."""

    metadata = {"render_modes": []}

    def __init__(self, game: str, sticky_action_prob: float = 0.1, difficulty_ramping: bool = True,
                 max_episode_steps: int = 10_000):
        if game not in MINATAR_GAMES:
            raise KeyError(f"unknown minatar game {game!r}; available: {', '.join(MINATAR_GAMES)}")
        self._env = _load_game(game).Env(ramping=difficulty_ramping)
        self.sticky_action_prob = float(sticky_action_prob)
        self._random = np.random.RandomState()
        self._env.random = self._random
        self._last_action = 0
        height, width, channels = self._env.state_shape()
        self.observation_space = gym.spaces.Box(0, 1, (channels, height, width), np.uint8)
        self.action_space = gym.spaces.Discrete(6)  # every MinAtar game has the same 6 actions
        self.max_episode_steps = int(max_episode_steps)
        self.game = game
        self._steps = 0

    def _frame(self) -> np.ndarray:
        return np.ascontiguousarray(self._env.state().transpose(2, 0, 1), dtype=np.uint8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self._random = np.random.RandomState(int(seed) % 2**32)
            self._env.random = self._random
        self._env.reset()
        self._last_action = 0
        self._steps = 0
        return self._frame(), {"lives": 1}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._random.rand() < self.sticky_action_prob:
            action = self._last_action
        self._last_action = int(action)
        reward, terminated = self._env.act(int(action))
        self._steps += 1
        truncated = not terminated and self._steps >= self.max_episode_steps
        return self._frame(), float(reward), bool(terminated), truncated, {"lives": 0 if terminated else 1}

    def state_dict(self) -> dict[str, Any]:
        """Everything the next steps depend on (the game's fields, its RNG, the sticky action and
        the step count), so a run checkpointed mid-episode resumes the episode exactly."""
        return copy.deepcopy({"game": self._env.__dict__, "last_action": self._last_action, "steps": self._steps})

    def load_state_dict(self, state: dict[str, Any]) -> None:
        game = copy.deepcopy(state["game"])
        if set(game) != set(self._env.__dict__):
            raise ValueError(f"the saved state is not a {self.game} game's state")
        self._env.__dict__.update(game)
        self._random = self._env.random
        self._last_action, self._steps = int(state["last_action"]), int(state["steps"])


def make_minatar_env(game: str, training: bool = True, sticky_action_prob: float = 0.1,
                     max_episode_steps: int = 10_000) -> gym.Env:
    """Training and evaluation use the same dynamics (MinAtar has no no-op starts)."""
    return MinAtarEnv(game, sticky_action_prob=sticky_action_prob, max_episode_steps=max_episode_steps)
