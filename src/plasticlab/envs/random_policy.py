"""The return of the uniformly random policy, measured: the floor of a normalised score.

Atari's random-policy scores come from a published table (``analysis.reference_scores``); MinAtar
has none, so we measure them here under MinAtar's own protocol (sticky actions 0.1, difficulty
ramping, no episode cap short of ours) and fix the numbers in ``reference_scores`` with the
episodes and seed used. Re-measure after changing a game's options::

    python -m plasticlab.envs.random_policy --episodes 5000 breakout space_invaders
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from plasticlab.envs import make_env


def random_policy_returns(spec: dict[str, Any], episodes: int, seed: int = 0, max_steps: int = 100_000) -> np.ndarray:
    """Undiscounted raw returns of ``episodes`` episodes of uniformly random actions (evaluation
    options of the spec), one environment seed per episode drawn from ``seed``."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    env = make_env(spec, training=False)
    rng = np.random.default_rng(seed)
    seeds = np.random.SeedSequence(seed).generate_state(episodes)
    n_actions = int(env.action_space.n)
    returns = np.zeros(episodes)
    for episode in range(episodes):
        env.reset(seed=int(seeds[episode]))
        for _ in range(max_steps):
            _, reward, terminated, truncated, _ = env.step(int(rng.integers(n_actions)))
            returns[episode] += reward
            if terminated or truncated:
                break
    return returns


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure random-policy returns of MinAtar games")
    parser.add_argument("games", nargs="+")
    parser.add_argument("--episodes", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for game in args.games:
        returns = random_policy_returns({"suite": "minatar", "game": game}, args.episodes, args.seed)
        print(json.dumps({"game": game, "mean": float(returns.mean()), "sem": float(returns.std(ddof=1) / np.sqrt(len(returns))),
                          "episodes": args.episodes, "seed": args.seed}))


if __name__ == "__main__":
    main()
