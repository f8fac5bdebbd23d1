"""Seeds of one supervised variant in one process: stacked into one network vs one after another.

Both arms run in this process with the same runs (a study variant of the default config, its
step budget cut to ``--steps`` per task); they alternate ``--repeats`` times and the best time of
each counts, so load on a shared machine hits both alike. The stacked arm must give every seed
exactly the metrics of the loop (checked here too; ``tests/supervised/test_seed_jobs.py``).

    python benchmarks/supervised_seeds.py                                   # disentangle random_labels.none
    python benchmarks/supervised_seeds.py --study warmstart --variant hare_tortoise
"""

from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
import time
from pathlib import Path

import torch
import yaml

from plasticlab import studies
from plasticlab.studies.base import RunSpec

REPO = Path(__file__).resolve().parents[1]


def runs_of(study_name: str, variant: str, seeds: int, steps: int, root: Path) -> list[RunSpec]:
    with open(REPO / "config" / "config.yaml") as handle:
        config = yaml.safe_load(handle)
    section = copy.deepcopy(config["studies"][study_name])
    if study_name == "warmstart":  # the chosen protocol's epochs scaled down to about `steps` steps
        protocol = section["protocols"][section["protocol"]]
        protocol["base_epochs"] = max(1, protocol.get("base_epochs", 100) * steps // 2000)
    else:
        section["protocol"]["steps_per_task"] = steps
    study = studies.get(study_name)
    return [RunSpec(study_name, variant, seed, study.run_config(section, variant), root / f"seed={seed}") for seed in range(seeds)]


def timed(function) -> tuple[float, dict[int, object]]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", default="disentangle")
    parser.add_argument("--variant", default="random_labels.none")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=600, help="optimiser steps per task")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    study = studies.get(args.study)
    best = {"loop": float("inf"), "stacked": float("inf")}
    for _ in range(args.repeats):
        for arm in ("loop", "stacked"):
            root = Path(tempfile.mkdtemp(prefix=f"bench-{arm}-"))
            runs = runs_of(args.study, args.variant, args.seeds, args.steps, root)
            if arm == "loop":
                seconds, frames = timed(lambda: {run.seed: study.train(run) for run in runs})
                loop_frames = frames
            else:
                seconds, frames = timed(lambda: {run.seed: frame for run, frame in study.train_seeds(runs)})
                stacked_frames = frames
            shutil.rmtree(root, ignore_errors=True)
            best[arm] = min(best[arm], seconds)
    equal = all(loop_frames[s].equals(stacked_frames[s]) for s in loop_frames)
    print(f"{args.study} {args.variant}: {args.seeds} seeds, {args.steps} steps per task, 1 thread, best of {args.repeats}")
    print(f"  one after another: {best['loop']:.2f} s   stacked: {best['stacked']:.2f} s   "
          f"ratio {best['loop'] / best['stacked']:.2f}x   per-seed metrics equal: {equal}")


if __name__ == "__main__":
    main()
