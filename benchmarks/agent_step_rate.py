"""How long one agent run of a study's config takes: env steps and updates per second, extrapolated.

    python benchmarks/agent_step_rate.py --config config/config.yaml config/paper.yaml \
        --study hare_tortoise --variant breakout.none --steps 3000 --device cuda

Runs the resolved run config of one variant exactly as the ``train_agent`` rule would (same agent,
network, replay, intervention), for ``--steps`` environment steps with evaluation and checkpoints
moved out of the window, and times the steps after learning has started (the cost of a run is
its updates). The extrapolation to the protocol's full length is what a user needs to size a
cluster job's ``runtime`` or to choose between CPU and GPU.
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import torch

from plasticlab import config as plasticlab_config
from plasticlab.agents.loop import train_agent
from plasticlab.studies.base import RunSpec


def timed_run(run_config: dict, steps: int, device: str) -> float:
    config = copy.deepcopy(run_config)
    config["protocol"].update(steps=steps, eval_every=10 * steps, eval_episodes=1, final_eval_episodes=1,
                              eval_max_steps=10, checkpoint_every=10 * steps)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        train_agent(RunSpec("bench", config["variant"], 0, config, Path(out), device=device))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", nargs="+", default=["config/config.yaml", "config/paper.yaml"])
    parser.add_argument("--study", default="hare_tortoise")
    parser.add_argument("--variant", default="breakout.none")
    parser.add_argument("--steps", type=int, default=3000, help="env steps of the timed run (after learning starts)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = plasticlab_config.load_config(*args.config)
    run_config = plasticlab_config.run_config(config, args.study, args.variant)
    options = run_config.setdefault("agent_options", {})
    learning_starts = int(options.get("learning_starts", 0))
    update_every = int(options.get("update_every", 1))
    # the warm-up alone (no updates), then warm-up + the timed window: the difference is learning
    warmup = timed_run(run_config, learning_starts, args.device)
    total = timed_run(run_config, learning_starts + args.steps, args.device)
    learning = max(total - warmup, 1e-9)
    steps_per_s = args.steps / learning
    full_steps = int(run_config["protocol"]["steps"])
    estimate_s = warmup + (full_steps - learning_starts) / steps_per_s
    result = {
        "study": args.study, "variant": args.variant, "device": args.device,
        "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "torch": torch.__version__, "threads": args.threads, "timed_steps": args.steps,
        "env_steps_per_s": round(steps_per_s, 1), "updates_per_s": round(steps_per_s / update_every, 1),
        "warmup_s": round(warmup, 1), "protocol_steps": full_steps,
        "estimated_run_min_without_evaluation": round(estimate_s / 60, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
