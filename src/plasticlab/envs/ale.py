"""Atari through ``ale-py`` with the Atari-100k protocol (Kaiser et al. 2020; Łukasz et al.,
as used by DER, SPR and the Hare & Tortoise agents).

Protocol: frame skip 4 with a max over the last two raw frames, 84×84 grey frames, no sticky
actions (``repeat_action_probability`` 0; 0.25 is the long-run protocol), an episode cap of
108,000 frames (27,000 agent steps), no-op starts (up to 30) at evaluation. Reward clipping and
life-loss terminals are *training* conventions applied by the agent loop, not here: the
environment always reports the raw game score, which is what evaluation returns are made of.
Whether a life loss ends the bootstrap is a property of the protocol
(:func:`ale_life_loss_terminal`): yes in Atari-100k (no sticky actions; Dopamine's
``labs/atari_100k`` configs set ``terminal_on_life_loss``), no in the sticky-action long runs
(Machado et al. 2018; Dopamine's ``dqn.gin`` leaves it off). ROMs ship inside ``ale-py``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import gymnasium as gym
import numpy as np

# The 26 games of the Atari-100k benchmark (Kaiser et al. 2020), with their gymnasium names.
ATARI_100K_GAMES = (
    "Alien", "Amidar", "Assault", "Asterix", "BankHeist", "BattleZone", "Boxing", "Breakout",
    "ChopperCommand", "CrazyClimber", "DemonAttack", "Freeway", "Frostbite", "Gopher", "Hero",
    "Jamesbond", "Kangaroo", "Krull", "KungFuMaster", "MsPacman", "Pong", "PrivateEye", "Qbert",
    "RoadRunner", "Seaquest", "UpNDown",
)
FRAMES_PER_EPISODE_CAP = 108_000


def _rom_id(game: str) -> str:
    """``MsPacman`` → ``ms_pacman`` (ale-py's ROM ids)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", game).lower()


@lru_cache(maxsize=1)
def ale_games() -> list[str]:
    """Games whose ROM is installed, by gymnasium name (``Pong``, ``MsPacman``, ...)."""
    import ale_py

    gym.register_envs(ale_py)
    installed = set(ale_py.roms.get_all_rom_ids())
    names = [env_id[len("ALE/"):-len("-v5")] for env_id in gym.registry
             if env_id.startswith("ALE/") and env_id.endswith("-v5") and "-ram" not in env_id]
    return sorted(name for name in names if _rom_id(name) in installed)


class ChannelFirst(gym.ObservationWrapper):
    """(84, 84) grey frames → (1, 84, 84) uint8, the layout every agent here expects."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        height, width = env.observation_space.shape[:2]
        self.observation_space = gym.spaces.Box(0, 255, (1, height, width), np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation.reshape(self.observation_space.shape)


def ale_life_loss_terminal(sticky_actions: float = 0.0, life_loss_terminal: bool | None = None) -> bool:
    """Whether the agent treats a life loss as terminal for learning: as set, or by protocol
    (true without sticky actions, Atari-100k; false with them, the long-run protocol)."""
    return bool(life_loss_terminal) if life_loss_terminal is not None else float(sticky_actions) == 0.0


def make_ale_env(game: str, training: bool = True, frame_skip: int = 4, screen_size: int = 84,
                 sticky_actions: float = 0.0, noop_max_train: int = 0, noop_max_eval: int = 30,
                 max_frames_per_episode: int = FRAMES_PER_EPISODE_CAP, full_action_space: bool = False,
                 life_loss_terminal: bool | None = None) -> gym.Env:
    """One Atari game under the Atari-100k protocol; gymnasium's ``AtariPreprocessing`` does the
    frame skip, max-pooling, grey-scaling, resizing and no-op starts. ``life_loss_terminal`` is
    read by the agent loop (:func:`ale_life_loss_terminal`); the episode itself goes on."""
    import ale_py

    gym.register_envs(ale_py)
    if game not in ale_games():
        raise KeyError(f"unknown ALE game or missing ROM {game!r}; available: {', '.join(ale_games())}")
    env = gym.make(f"ALE/{game}-v5", frameskip=1, repeat_action_probability=float(sticky_actions),
                   max_num_frames_per_episode=int(max_frames_per_episode), full_action_space=full_action_space)
    env = gym.wrappers.AtariPreprocessing(
        env, noop_max=noop_max_train if training else noop_max_eval, frame_skip=frame_skip, screen_size=screen_size,
        terminal_on_life_loss=False, grayscale_obs=True, scale_obs=False,
    )
    return ChannelFirst(env)


__all__ = ["ATARI_100K_GAMES", "FRAMES_PER_EPISODE_CAP", "ale_games", "ale_life_loss_terminal", "make_ale_env"]
