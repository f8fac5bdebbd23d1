"""Throughput of our DQN loop against a plain CleanRL-pattern loop, side by side in one run.

    python benchmarks/dqn_throughput.py --game Breakout --steps 3000 --learning-starts 1000 --threads 1

Both loops: Nature CNN, batch 32, one update every 4 env steps, replay capacity 100k, the same
constant ε (so both run the network for the same share of actions), the same torch threads, on
the same ALE game under the same preprocessing. Each is run ``--repeats`` times, alternating, and
the best wall time of each is reported (the machines are shared). Ours runs through
``plasticlab.agents.loop.train_agent`` exactly as a study does (evaluation reduced to a token
episode, no checkpoint inside the window).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_dqn  # noqa: E402

from plasticlab.agents.loop import train_agent  # noqa: E402
from plasticlab.studies.base import RunSpec  # noqa: E402


def ours(game: str, steps: int, learning_starts: int, epsilon: float, device: str) -> dict[str, float]:
    config = {
        "agent": "dqn",
        "agent_options": {"stack": 4, "learning_starts": learning_starts, "update_every": 4, "batch_size": 32,
                          "replay_capacity": 100_000, "lr": 1e-4, "target_update_env_steps": 1000,
                          "epsilon_start": epsilon, "epsilon_end": epsilon, "eval_epsilon": epsilon},
        "model": {"name": "qnet", "torso": "nature", "hidden": 512},
        "protocol": {"steps": steps, "eval_every": steps, "eval_episodes": 1, "eval_max_steps": 10,
                     "checkpoint_every": 10 * steps, "log_every_updates": 100, "diagnostics_batch": 8},
        "env": {"suite": "ale", "game": game},
        "interventions": "none",
        "variant": "bench",
    }
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        frame = train_agent(RunSpec("injection", "bench", 0, config, Path(out), device=device))
        wall = time.perf_counter() - start
    updates = float(frame.loc[frame["metric"] == "updates", "value"].iloc[0])
    return {"wall_s": wall, "env_steps_per_s": steps / wall, "updates": updates, "updates_per_s": updates / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="Breakout")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--epsilon", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results: dict[str, list[dict[str, float]]] = {"reference": [], "plasticlab": []}
    for repeat in range(args.repeats):
        results["reference"].append(reference_dqn.run(args.game, args.steps, args.learning_starts, seed=repeat,
                                                      constant_epsilon=args.epsilon))
        results["plasticlab"].append(ours(args.game, args.steps, args.learning_starts, args.epsilon, args.device))
        for name, runs in results.items():
            print(f"repeat {repeat}: {name:10s} {runs[-1]['wall_s']:7.1f} s  {runs[-1]['env_steps_per_s']:7.1f} steps/s  "
                  f"{runs[-1]['updates_per_s']:6.2f} updates/s", flush=True)
    best = {name: min(runs, key=lambda r: r["wall_s"]) for name, runs in results.items()}
    print(f"\n{args.game}, {args.steps} steps, learning starts {args.learning_starts}, {args.threads} torch thread(s), "
          f"device {args.device}")
    print(f"{'loop':12s} {'wall s':>8s} {'steps/s':>9s} {'updates/s':>10s}")
    for name, r in best.items():
        print(f"{name:12s} {r['wall_s']:8.1f} {r['env_steps_per_s']:9.1f} {r['updates_per_s']:10.2f}")
    print(f"ratio (reference wall / ours): {best['reference']['wall_s'] / best['plasticlab']['wall_s']:.2f}x")


if __name__ == "__main__":
    main()
