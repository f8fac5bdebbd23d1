"""Reference scores and score normalisations for Atari-100k and MinAtar.

Raw returns are not comparable across games (Pong is in [−21, 21], Krull in the thousands), so
aggregates over games are taken over normalised scores. On Atari the convention is the
human-normalised score ``(score − random) / (human − random)``: 0 is a uniformly random policy and
1 is the human tester of Mnih et al. (2015). MinAtar has no human table: its scores are
``(score − random) / (reference − random)`` with random-policy returns we measured
(:data:`MINATAR_RANDOM_SCORES`) and a reference score a config fixes per game (method
``reference``), so 0 is random play and 1 the reference whatever variant is the baseline.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

import numpy as np

__all__ = ["ATARI_100K_GAMES", "ATARI_HUMAN_SCORES", "ATARI_RANDOM_SCORES", "MINATAR_GAMES", "MINATAR_RANDOM_PROTOCOL",
           "MINATAR_RANDOM_SCORES", "MINATAR_RANDOM_SEM", "NORMALISATIONS", "atari_game", "human_normalised", "minatar_game",
           "minatar_random_score", "normalise"]

# (random, human) score per game of the Atari-100k benchmark (Kaiser et al. 2020, SimPLe), the
# table used by DER, CURL, SPR and rliable. Every number (and the game order) was checked against
# RANDOM_SCORES / HUMAN_SCORES in google-research/rliable, deep_rl_precipice_colab.ipynb (the
# notebook behind Agarwal et al. 2021), and against atari_random_scores / atari_human_scores in
# mila-iqia/spr, src/rlpyt_utils.py (SPR, Schwarzer et al. 2021); both give the same 52 numbers.
_ATARI_100K: dict[str, tuple[float, float]] = {
    "Alien": (227.8, 7127.7),
    "Amidar": (5.8, 1719.5),
    "Assault": (222.4, 742.0),
    "Asterix": (210.0, 8503.3),
    "BankHeist": (14.2, 753.1),
    "BattleZone": (2360.0, 37187.5),
    "Boxing": (0.1, 12.1),
    "Breakout": (1.7, 30.5),
    "ChopperCommand": (811.0, 7387.8),
    "CrazyClimber": (10780.5, 35829.4),
    "DemonAttack": (152.1, 1971.0),
    "Freeway": (0.0, 29.6),
    "Frostbite": (65.2, 4334.7),
    "Gopher": (257.6, 2412.5),
    "Hero": (1027.0, 30826.4),
    "Jamesbond": (29.0, 302.8),
    "Kangaroo": (52.0, 3035.0),
    "Krull": (1598.0, 2665.5),
    "KungFuMaster": (258.5, 22736.3),
    "MsPacman": (307.3, 6951.6),
    "Pong": (-20.7, 14.6),
    "PrivateEye": (24.9, 69571.3),
    "Qbert": (163.9, 13455.0),
    "RoadRunner": (11.5, 7845.0),
    "Seaquest": (68.4, 42054.7),
    "UpNDown": (533.4, 11693.2),
}
ATARI_100K_GAMES: tuple[str, ...] = tuple(_ATARI_100K)
ATARI_RANDOM_SCORES: dict[str, float] = {game: pair[0] for game, pair in _ATARI_100K.items()}
ATARI_HUMAN_SCORES: dict[str, float] = {game: pair[1] for game, pair in _ATARI_100K.items()}

# The five MinAtar games (Young & Tian 2019). Every MinAtar reward is +1 per event (or the
# remaining oxygen cells when Seaquest surfaces with six divers), never negative, so 0 is a
# return no policy can undercut: the natural floor of a min–max normalisation.
MINATAR_GAMES: tuple[str, ...] = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")

# Mean raw return of the uniformly random policy per MinAtar game, measured with
# `python -m plasticlab.envs.random_policy --episodes <n> --seed 0 <game>` (MinAtar 1.0.15) under
# MinAtar's own protocol: the options below, which are also our environment's defaults. Each
# entry: (mean, standard error of the mean, episodes).
MINATAR_RANDOM_PROTOCOL: dict[str, object] = {"sticky_action_prob": 0.1, "max_episode_steps": 10_000}
_MINATAR_RANDOM: dict[str, tuple[float, float, int]] = {
    "asterix": (0.4908, 0.0085, 10_000),
    "breakout": (0.5174, 0.0075, 10_000),
    "freeway": (0.133, 0.0114, 1_000),        # 2,500-step episodes: fewer of them
    "seaquest": (0.097, 0.0037, 10_000),
    "space_invaders": (2.838, 0.0227, 10_000),
}
MINATAR_RANDOM_SEM: dict[str, float] = {game: entry[1] for game, entry in _MINATAR_RANDOM.items()}
MINATAR_RANDOM_SCORES: dict[str, float] = {game: entry[0] for game, entry in _MINATAR_RANDOM.items()}


def _key(name: str) -> str:
    """Spelling-independent key: 'ALE/BankHeist-v5', 'BankHeistNoFrameskip-v4', 'bank_heist',
    'MinAtar/SpaceInvaders-v1' -> 'bankheist' / 'spaceinvaders'."""
    name = name.rsplit("/", 1)[-1]
    name = re.sub(r"(NoFrameskip)?-v\d+$", "", name)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _lookup(name: str, games: Sequence[str], benchmark: str) -> str:
    canonical = {_key(game): game for game in games}
    try:
        return canonical[_key(name)]
    except KeyError:
        raise KeyError(f"unknown {benchmark} game {name!r}; known games: {', '.join(games)}") from None


def atari_game(name: str) -> str:
    """Canonical Atari-100k name (e.g. ``'BankHeist'``) for any usual spelling; KeyError lists the games."""
    return _lookup(name, ATARI_100K_GAMES, "Atari-100k")


def minatar_game(name: str) -> str:
    """Canonical MinAtar name (e.g. ``'space_invaders'``) for any usual spelling; KeyError lists the games."""
    return _lookup(name, MINATAR_GAMES, "MinAtar")


def minatar_random_score(spec: Mapping[str, object]) -> float | None:
    """The measured random-policy return for a MinAtar env spec, or None when the game was not
    measured or the spec changes an option the measurement depends on."""
    if spec.get("suite") != "minatar":
        return None
    game = str(spec.get("game"))
    changed = [key for key, value in MINATAR_RANDOM_PROTOCOL.items() if key in spec and spec[key] != value]
    return None if changed or game not in MINATAR_RANDOM_SCORES else MINATAR_RANDOM_SCORES[game]


def human_normalised(scores: np.ndarray | float, game: str) -> np.ndarray:
    """Human-normalised score of raw returns on one Atari game: random -> 0, human -> 1."""
    canonical = atari_game(game)
    random, human = _ATARI_100K[canonical]
    return (np.asarray(scores, dtype=float) - random) / (human - random)


# --- normalising score matrices of many games, by method name ------------------------------------
# Each method gives the per-task (low, high) that map to (0, 1); the scores themselves are then
# min–max scaled, so every method reads the same way: 0 = floor, 1 = reference.

Reference = Callable[[list[str], Mapping[str, np.ndarray], "str | None", "Mapping[str, float] | None",
                      "Mapping[str, float] | None"], tuple[np.ndarray, np.ndarray]]


def _human_reference(tasks: list[str], score_dict: Mapping[str, np.ndarray], baseline: str | None,
                     floor: Mapping[str, float] | None, reference: Mapping[str, float] | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Atari: random policy -> 0, human -> 1 (the published table above)."""
    games = [atari_game(task) for task in tasks]
    return np.array([ATARI_RANDOM_SCORES[g] for g in games]), np.array([ATARI_HUMAN_SCORES[g] for g in games])


def _baseline_reference(tasks: list[str], score_dict: Mapping[str, np.ndarray], baseline: str | None,
                        floor: Mapping[str, float] | None, reference: Mapping[str, float] | None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Any benchmark without a human table (MinAtar): ``floor`` -> 0 (default 0, the least return a
    MinAtar policy can get; pass measured random-policy returns for a random -> 0 scale) and the
    baseline variant's mean final score per task -> 1, so 1.2 reads "20% above the baseline"."""
    if baseline is None or baseline not in score_dict:
        raise KeyError(f"method 'baseline' needs baseline= one of the variants {sorted(score_dict)}, got {baseline!r}")
    reference = np.asarray(score_dict[baseline], dtype=float)
    final = reference[..., -1] if reference.ndim == 3 else reference  # curves: the last checkpoint
    high = final.mean(axis=0)
    low = np.array([0.0 if floor is None else float(floor[task]) for task in tasks])
    return low, high


def _fixed_reference(tasks: list[str], score_dict: Mapping[str, np.ndarray], baseline: str | None,
                     floor: Mapping[str, float] | None, reference: Mapping[str, float] | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Any benchmark with a measured floor and a fixed reference per task (MinAtar): ``floor``
    (the random policy's return) -> 0 and ``reference`` -> 1. Unlike ``baseline``, no variant is
    1 by construction, so the baseline's score has an interval like every other variant's."""
    missing = [task for task in tasks if floor is None or task not in floor or reference is None or task not in reference]
    if missing:
        raise KeyError(f"method 'reference' needs floor= and reference= for every task; missing for {missing}")
    return np.array([float(floor[task]) for task in tasks]), np.array([float(reference[task]) for task in tasks])


def _raw_reference(tasks: list[str], score_dict: Mapping[str, np.ndarray], baseline: str | None,
                   floor: Mapping[str, float] | None, reference: Mapping[str, float] | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """No normalisation (a single game, or scores already normalised upstream)."""
    return np.zeros(len(tasks)), np.ones(len(tasks))


NORMALISATIONS: dict[str, Reference] = {
    "human": _human_reference,
    "baseline": _baseline_reference,
    "reference": _fixed_reference,
    "raw": _raw_reference,
}


def normalise(score_dict: Mapping[str, np.ndarray], tasks: Sequence[str], method: str = "human", *,
              baseline: str | None = None, floor: Mapping[str, float] | None = None,
              reference: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Normalise raw returns of every variant: ``{variant: (n_runs, n_tasks[, n_points])}`` -> same shapes.

    ``tasks`` names the task axis (axis 1). ``method`` is a key of :data:`NORMALISATIONS`:
    ``"human"`` (Atari), ``"reference"`` (MinAtar: ``floor=`` random-policy returns and
    ``reference=`` scores per task), ``"baseline"`` (needs ``baseline=``, optional ``floor=``) or ``"raw"``.
    """
    if method not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {method!r}; available: {', '.join(sorted(NORMALISATIONS))}")
    tasks = list(tasks)
    arrays = {name: np.asarray(scores, dtype=float) for name, scores in score_dict.items()}
    bad = {name: a.shape for name, a in arrays.items() if a.ndim not in (2, 3) or a.shape[1] != len(tasks)}
    if bad:
        raise ValueError(f"scores must be (n_runs, {len(tasks)} tasks[, n_points]); got {bad}")
    low, high = NORMALISATIONS[method](tasks, arrays, baseline, floor, reference)
    if np.any(high == low):
        zero = [task for task, lo, hi in zip(tasks, low, high) if lo == hi]
        raise ValueError(f"normalisation {method!r} has reference == floor for {zero}: cannot scale those tasks")
    shape = lambda a: (1, len(tasks)) + (1,) * (a.ndim - 2)  # noqa: E731  broadcast along axis 1
    return {name: (a - low.reshape(shape(a))) / (high - low).reshape(shape(a)) for name, a in arrays.items()}
