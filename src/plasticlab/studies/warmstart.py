"""Warm-starting study (Ash & Adams 2020; revisited by Lee et al. 2024, Hare & Tortoise).

The training set arrives in ``chunks`` equal pieces. After chunk k arrives the network is trained
on chunks 1..k until it fits them (``target_train_accuracy``) or the epoch budget ends, and the
evaluated network is scored on the fixed test set. ``warm`` keeps training one network, ``fresh``
re-initialises it at every chunk, the other variants apply interventions to the warm network.
Optional label noise per chunk falls linearly from ``label_noise.start`` to ``label_noise.end``
(the Hare & Tortoise continual protocol uses 0.5 → 0).

Headline quantities: test accuracy vs chunks seen, and the warm-start gap fresh − warm (paired
by seed) with a bootstrap CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from plasticlab import interventions, nets
from plasticlab.data import Dataset, load_dataset
from plasticlab.runtime.seeding import seed_everything
from plasticlab.studies import register
from plasticlab.studies.base import RunSpec, Study
from plasticlab.supervised import Task, TrainerConfig, train_on_tasks


def noise_rates(chunks: int, start: float, end: float) -> list[float]:
    """Label-noise rate of each phase, linear from ``start`` (first) to ``end`` (last)."""
    if chunks == 1:
        return [end]
    return [start + (end - start) * k / (chunks - 1) for k in range(chunks)]


def build_tasks(data: Dataset, protocol: dict[str, Any], seed: int) -> list[Task]:
    """Phase k trains on chunks 0..k and is scored on the test set (and on clean train labels).

    Label noise belongs to a phase, not to a chunk (Hare & Tortoise's continual protocol): in
    phase k a sample's label is replaced by a fixed wrong class iff its fixed uniform draw is
    below the phase's rate, so noisy sets shrink monotonically and the last phase (rate 0 by
    default) is clean for every network. A warm network has to unlearn what it memorised.
    """
    rng = np.random.default_rng(seed)
    n = len(data.y_train)
    pieces = np.array_split(rng.permutation(n), protocol["chunks"])
    draws = rng.random(n)
    wrong = (data.y_train + rng.integers(1, data.n_classes, size=n)) % data.n_classes
    noise = protocol.get("label_noise") or {}
    rates = noise_rates(protocol["chunks"], noise.get("start", 0.0), noise.get("end", 0.0))
    x_all, y_clean = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    test = (torch.from_numpy(data.x_test), torch.from_numpy(data.y_test))
    tasks = []
    for k, rate in enumerate(rates):
        index = np.concatenate(pieces[: k + 1])
        labels = np.where(draws[index] < rate, wrong[index], data.y_train[index])
        tasks.append(Task(x=x_all[index], y=torch.from_numpy(labels),
                          eval_sets={"test": test, "train_clean": (x_all[index], y_clean[index])}))
    return tasks


@register
class WarmStart(Study):
    name = "warmstart"
    paper = "Ash & Adams 2020, 'On warm-starting neural network training'; Lee et al. 2024, 'Slow and Steady Wins the Race: Maintaining Plasticity with Hare and Tortoise Networks' (ICML)"
    summary = "data arrives in chunks; warm vs fresh vs interventions; test accuracy vs chunks seen"
    figures = ("test_accuracy.png", "train_accuracy.png", "final_test_accuracy.png", "warmstart_gap.png")
    run_resources = {"mem_mb": 4000, "runtime": 120}
    batches_seeds = True

    def check(self, study_config: dict[str, Any]) -> None:
        nets.check_spec(study_config["model"])
        if "warm" not in study_config["variants"]:
            raise ValueError("studies.warmstart.variants must contain 'warm' (the baseline of the warm-start gap)")

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        config = run.config
        seed_everything(run.seed)
        data = load_dataset(config["dataset"], config.get("data_dir"))
        tasks = build_tasks(data, config["protocol"], run.seed)
        trainer_config = TrainerConfig.from_config(config["protocol"], config.get("optimizer", {}))

        def make_net() -> torch.nn.Module:
            return nets.build_net(config["model"], data.input_shape, data.n_classes)

        frame = train_on_tasks(run, tasks, make_net, interventions.build(config["interventions"]), trainer_config,
                               crash_after_checkpoints=crash_after_checkpoints)
        frame.insert(0, "study", run.study)
        frame.insert(1, "variant", run.variant)
        frame.insert(2, "seed", run.seed)
        return frame

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """Mean and bootstrap CI over seeds at every chunk count, plus the gap to ``warm``."""
        from plasticlab.analysis import paired_difference, summarise

        ends = metrics[metrics["phase"] == "task_end"].assign(chunks_seen=lambda f: f["task"] + 1)
        table = summarise(ends, x="chunks_seen")
        gaps = paired_difference(ends, x="chunks_seen", metric="test_accuracy", baseline="warm",
                                 new_metric="test_accuracy_minus_warm")
        return pd.concat([table, gaps], ignore_index=True)

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.analysis import bars_at_x, line_with_bands  # matplotlib only where figures are drawn

        variants = _variant_order(table)
        return [
            line_with_bands(table, "test_accuracy", out_dir / "test_accuracy.png", xlabel="chunks of training data seen",
                            ylabel="test accuracy", title="Warm-starting: test accuracy (95% bootstrap CI)",
                            variants=variants, provenance=provenance),
            line_with_bands(table, "train_accuracy", out_dir / "train_accuracy.png", xlabel="chunks of training data seen",
                            ylabel="training accuracy (labels of that phase)",
                            title="Fit to the data seen so far (evaluated network)", variants=variants,
                            provenance=provenance),
            bars_at_x(table, "test_accuracy", out_dir / "final_test_accuracy.png", ylabel="final test accuracy",
                      title="After the last chunk", variants=variants, provenance=provenance),
            line_with_bands(table, "test_accuracy_minus_warm", out_dir / "warmstart_gap.png",
                            xlabel="chunks of training data seen", ylabel="test accuracy − warm (paired)",
                            title="Gain over warm-starting (fresh − warm = warm-start gap)",
                            variants=[v for v in variants if v != "warm"], provenance=provenance),
        ]


def _variant_order(table: pd.DataFrame) -> list[str]:
    """warm and fresh first (the paper's two reference lines), then the rest alphabetically."""
    present = sorted(set(table["variant"]))
    head = [v for v in ("warm", "fresh") if v in present]
    return head + [v for v in present if v not in head]
