"""Environment factories with the gymnasium API, built by name from config.

Every environment here emits single uint8 frames shaped ``(C, H, W)`` (Atari: one 84×84
grey frame, C = 1; MinAtar: its 10×10 boolean channels). Frame stacking is the agent's job
(:class:`plasticlab.agents.replay.FrameStacker`), so the replay buffer stores each frame once.
``info["lives"]`` is always present, so the loop can treat a life loss as terminal for learning
without ending the episode; whether it does is a property of the suite's protocol
(:func:`life_loss_is_terminal`), not of the agent.

A suite is registered by name (``ale``, ``minatar``); ``make_env({"suite": ..., "game": ...})``
builds one and fails with a message listing the games available if the name is unknown.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import gymnasium as gym

from plasticlab.envs.ale import ATARI_100K_GAMES, ale_games, ale_life_loss_terminal, make_ale_env
from plasticlab.envs.minatar import MINATAR_GAMES, make_minatar_env

SUITES: dict[str, Callable[..., gym.Env]] = {"ale": make_ale_env, "minatar": make_minatar_env}
GAMES: dict[str, Callable[[], list[str]]] = {"ale": ale_games, "minatar": lambda: list(MINATAR_GAMES)}
# Whether a life loss is terminal for learning, by suite, from the env spec (MinAtar: one life).
LIFE_LOSS_RULES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "ale": lambda spec: ale_life_loss_terminal(spec.get("sticky_actions", 0.0), spec.get("life_loss_terminal")),
    "minatar": lambda spec: False,
}


class UnknownGameError(KeyError):
    """A game name the suite does not have (or whose ROM is missing)."""

    def __str__(self) -> str:  # KeyError quotes its message; show it as written
        return str(self.args[0]) if self.args else ""


def check_env_spec(spec: dict[str, Any]) -> None:
    """Raise KeyError/ValueError naming an unknown suite or game before any run starts."""
    suite = spec.get("suite")
    if suite not in SUITES:
        raise KeyError(f"unknown environment suite {suite!r}; available: {', '.join(sorted(SUITES))}")
    game = spec.get("game")
    games = GAMES[suite]()
    if game not in games:
        raise UnknownGameError(f"unknown {suite} game {game!r}; available: {', '.join(games)}")
    # options of the other suite are allowed and ignored: configs merge key by key, so a paper
    # config that switches the suite still carries the default's options
    known = set().union(*(_options(name) for name in SUITES))
    unknown = sorted(set(spec) - known - {"suite", "game"})
    if unknown:
        raise ValueError(f"environment suite {suite!r} has no option(s) {', '.join(map(repr, unknown))}; "
                         f"accepted: {', '.join(sorted(_options(suite)))}")


def make_env(spec: dict[str, Any], training: bool = True) -> gym.Env:
    """The environment a config spec describes, e.g. ``{"suite": "minatar", "game": "breakout"}``.

    ``training`` picks the training-time options (e.g. no no-op starts) or the evaluation ones.
    """
    check_env_spec(spec)
    own = _options(spec["suite"])
    options = {k: v for k, v in spec.items() if k in own}
    return SUITES[spec["suite"]](spec["game"], training=training, **options)


def life_loss_is_terminal(spec: dict[str, Any]) -> bool:
    """Whether the agent loop stops bootstrapping at a life loss under this spec's protocol."""
    check_env_spec(spec)
    return LIFE_LOSS_RULES[spec["suite"]](spec)


def _options(suite: str) -> set[str]:
    return set(inspect.signature(SUITES[suite]).parameters) - {"game", "training"}


__all__ = ["ATARI_100K_GAMES", "GAMES", "LIFE_LOSS_RULES", "MINATAR_GAMES", "SUITES", "UnknownGameError",
           "check_env_spec", "life_loss_is_terminal", "make_env"]
