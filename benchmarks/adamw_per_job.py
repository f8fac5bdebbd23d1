"""Does plasticlab's own AdamW still pay once a job trains all seeds of a variant?

plasticlab.optim.AdamW was written so that a job never imports ``torch.optim`` (about a second of
start-up each). With one job per variant that start-up is paid once per job, so what decides is
the cost per optimiser step. Measured here, side by side in one run:

1. start-up: a fresh interpreter that imports torch and builds one AdamW, torch.optim's vs ours
   (median of ``--starts`` interpreters, alternating);
2. per step: the supervised studies' MLP (digits width 64, hidden 128-128, batch 32), forward,
   backward and the optimiser step, for each implementation (``--repeats`` short blocks per
   implementation, taken in turn so load on a shared machine hits every implementation alike;
   median and best block reported);
3. per job: start-up + steps × per-step for a job of ``--job-steps`` optimiser steps.

    python benchmarks/adamw_per_job.py                # defaults: 5 starts, 30 blocks of 300 steps each
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from plasticlab.nets import make_mlp
from plasticlab.optim import AdamW

STARTUP = {
    "torch": "import torch; import torch.optim; torch.optim.AdamW([torch.zeros(2, requires_grad=True)], fused=True)",
    "plasticlab": "import torch; from plasticlab.optim import AdamW; AdamW([torch.zeros(2, requires_grad=True)], fused=True)",
}

IMPLEMENTATIONS = {
    "plasticlab (per-tensor loop)": lambda p: AdamW(p, lr=1e-3, weight_decay=0.0),
    "plasticlab fused kernel": lambda p: AdamW(p, lr=1e-3, weight_decay=0.0, fused=True),
    "torch.optim.AdamW fused": lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.0, fused=True),
    "torch.optim.AdamW foreach": lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.0, foreach=True),
}


def startup_seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


class Trainer:
    """One network and optimiser; ``block(steps)`` times that many training steps."""

    def __init__(self, factory, batch: int = 32):
        torch.manual_seed(0)
        self.net = make_mlp((64,), [128, 128], 10)
        self.optimizer = factory(self.net.parameters())
        self.x, self.y = torch.rand(1024, 64), torch.randint(0, 10, (1024,))
        self.generator = torch.Generator().manual_seed(0)
        self.batch = batch

    def block(self, steps: int) -> float:
        net, optimizer, x, y, generator, batch = self.net, self.optimizer, self.x, self.y, self.generator, self.batch
        start = time.perf_counter()
        for _ in range(steps):
            index = torch.randint(0, len(x), (batch,), generator=generator)
            loss = F.cross_entropy(net(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()
        return (time.perf_counter() - start) / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30, help="timed blocks per implementation")
    parser.add_argument("--steps", type=int, default=300, help="steps per block")
    parser.add_argument("--job-steps", type=int, default=50_000, help="optimiser steps of one job (all its seeds)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    starts: dict[str, list[float]] = {name: [] for name in STARTUP}
    for _ in range(args.starts):
        for name, code in STARTUP.items():
            starts[name].append(startup_seconds(code))
    startup = {name: statistics.median(values) for name, values in starts.items()}
    print("start-up of a fresh interpreter (median s):", {k: round(v, 2) for k, v in startup.items()})

    trainers = {name: Trainer(factory) for name, factory in IMPLEMENTATIONS.items()}
    for trainer in trainers.values():
        trainer.block(50)  # warm-up
    per_step: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    for _ in range(args.repeats):
        for name, trainer in trainers.items():
            per_step[name].append(trainer.block(args.steps))
    print(f"\nper step, MLP 64-128-128-10, batch 32, 1 thread ({args.repeats} blocks x {args.steps} steps, in turn):")
    best = {name: statistics.median(values) for name, values in per_step.items()}
    for name, value in best.items():
        print(f"  {name:32s} median {value:.3f} ms   best {min(per_step[name]):.3f} ms")

    print(f"\none job of {args.job_steps:,} steps (start-up + steps x per-step):")
    for name, value in best.items():
        start = startup["torch"] if name.startswith("torch") else startup["plasticlab"]
        print(f"  {name:32s} {start + args.job_steps * value / 1e3:7.1f} s")
    ratio = best["torch.optim.AdamW fused"] / best["plasticlab fused kernel"]
    print(f"\ntorch fused / plasticlab fused per step: {ratio:.3f}; start-up difference "
          f"{startup['torch'] - startup['plasticlab']:+.2f} s per job")


if __name__ == "__main__":
    main()
