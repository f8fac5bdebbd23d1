"""Seeds of one agent variant trained together (``plasticlab.agents.members``) vs one by one.

    python benchmarks/batched_agents.py                       # MinAtar tier, injection/minatar_breakout.none, S = 5
    python benchmarks/batched_agents.py --seeds 3 --steps 4000 --repeats 1

Three arms on the same resolved run config (``config/config.yaml`` + ``config/minatar.yaml``, its
steps cut to ``--steps``, learning from ``--learning-starts``, evaluation and checkpoints moved out
of the window), each timed as a whole run:

* ``sequential``: the S seeds one after another in this process, one torch thread;
* ``stacked``: the S seeds in one process, one thread, networks stacked (``train_members``);
* ``two processes``: two single-seed runs at once, one thread each (two cores busy).

Aggregate environment steps per second are reported per arm (the ``two processes`` arm: 2 ×
steps / wall time) with the ratios. Arms alternate ``--repeats`` times and the best time of each
counts, so load on a shared machine hits all alike. The stacked arm must give every seed the
metrics of its solo run (checked here; ``tests/agents/test_members.py``).
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import tempfile
import time
from pathlib import Path

import torch

from plasticlab import config as plasticlab_config
from plasticlab import studies
from plasticlab.studies.base import RunSpec

REPO = Path(__file__).resolve().parents[1]


def run_config(study: str, variant: str, steps: int, learning_starts: int) -> dict:
    config = plasticlab_config.load_config(REPO / "config" / "config.yaml", REPO / "config" / "minatar.yaml")
    section = config["studies"][study]
    resolved = copy.deepcopy(studies.get(study).run_config(section, variant))
    resolved["agent_options"]["learning_starts"] = learning_starts
    resolved["protocol"].update(steps=steps, eval_every=10 * steps, eval_episodes=1, final_eval_episodes=1,
                                eval_max_steps=10, checkpoint_every=10 * steps)
    return resolved


def _solo(args: tuple[dict, int, str]) -> None:
    from plasticlab.agents.loop import train_agent

    config, seed, out = args
    torch.set_num_threads(1)
    train_agent(RunSpec("bench", config["variant"], seed, config, Path(out) / f"seed={seed}"))


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="injection")
    parser.add_argument("--variant", default="minatar_breakout.none")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from plasticlab.agents.loop import train_agent
    from plasticlab.agents.members import train_members

    config = run_config(args.study, args.variant, args.steps, args.learning_starts)
    best = {"sequential": float("inf"), "stacked": float("inf"), "two processes": float("inf")}
    equal = True
    context = multiprocessing.get_context("spawn")
    warmup = run_config(args.study, args.variant, 600, 200)
    with tempfile.TemporaryDirectory() as out:  # kernels' first-call costs out of the timing, as in the pool below
        train_members([RunSpec("bench", warmup["variant"], seed, warmup, Path(out) / f"w{seed}") for seed in (100, 101)])
        train_agent(RunSpec("bench", warmup["variant"], 102, warmup, Path(out) / "w102"))
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            root = Path(out)
            runs = [RunSpec("bench", config["variant"], seed, config, root / f"seed={seed}") for seed in range(args.seeds)]
            seconds, solo = timed(lambda: [train_agent(run) for run in runs])
            best["sequential"] = min(best["sequential"], seconds)
            seconds, stacked = timed(lambda: train_members(runs))
            best["stacked"] = min(best["stacked"], seconds)
            equal = equal and all(a.equals(b) for a, b in zip(solo, stacked))
            with context.Pool(2) as pool:
                pool.map(_solo, [(config, 100, out), (config, 101, out)])  # start-up and imports out of the timing
                seconds, _ = timed(lambda: pool.map(_solo, [(config, 0, out), (config, 1, out)]))
            best["two processes"] = min(best["two processes"], seconds)
    rates = {"sequential": args.seeds * args.steps / best["sequential"],
             "stacked": args.seeds * args.steps / best["stacked"],
             "two processes": 2 * args.steps / best["two processes"]}
    print(f"{args.study}/{args.variant}, {args.seeds} seeds x {args.steps} steps, learning from step "
          f"{args.learning_starts}, best of {args.repeats}")
    for name, rate in rates.items():
        print(f"  {name:>13}: {best[name]:7.1f} s, {rate:7.1f} env steps/s")
    print(f"  stacked / sequential:    {rates['stacked'] / rates['sequential']:.2f}x")
    print(f"  stacked / two processes: {rates['stacked'] / rates['two processes']:.2f}x")
    print(f"  every seed's metrics equal to its solo run: {equal}")


if __name__ == "__main__":
    main()
