"""The warm-start study's run: determinism, the protocol's structure, provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.data import load_dataset
from plasticlab.studies.base import RunSpec
from plasticlab.studies.warmstart import build_tasks, noise_rates


def _run(tmp_path, tiny_config, variant: str, seed: int, name: str) -> pd.DataFrame:
    spec = RunSpec(study="warmstart", variant=variant, seed=seed,
                   config=cfg.run_config(tiny_config, "warmstart", variant), out_dir=tmp_path / name)
    return studies.get("warmstart").train(spec)


def test_same_seed_same_metrics_other_seed_differs(tmp_path, tiny_config):
    first = _run(tmp_path, tiny_config, "warm", 0, "a")
    again = _run(tmp_path, tiny_config, "warm", 0, "b")
    other = _run(tmp_path, tiny_config, "warm", 1, "c")
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert not first["value"].equals(other["value"])


def test_each_chunk_is_scored_once_on_the_test_set(tmp_path, tiny_config):
    frame = _run(tmp_path, tiny_config, "fresh", 0, "a")
    ends = frame[frame["phase"] == "task_end"]
    chunks = tiny_config["studies"]["warmstart"]["protocol"]["chunks"]
    assert sorted(ends.loc[ends["metric"] == "test_accuracy", "task"]) == list(range(chunks))
    assert ends["value"][ends["metric"] == "test_accuracy"].between(0.5, 1.0).all()


def test_phases_grow_by_one_chunk_and_cover_the_training_set():
    data = load_dataset("digits")
    tasks = build_tasks(data, {"chunks": 4}, seed=3)
    sizes = [len(t.y) for t in tasks]
    assert sizes[-1] == len(data.y_train) and all(b - a in (336, 337) for a, b in zip([0] + sizes, sizes))
    last = tasks[-1].x.numpy()
    assert len(np.unique(last, axis=0)) == len(np.unique(data.x_train, axis=0))  # every sample, once


def test_label_noise_falls_per_phase_is_nested_and_ends_clean():
    data = load_dataset("digits")
    tasks = build_tasks(data, {"chunks": 3, "label_noise": {"start": 0.6, "end": 0.0}}, seed=0)
    noisy = [(t.y != t.eval_sets["train_clean"][1]).numpy() for t in tasks]
    rates = [float(m.mean()) for m in noisy]
    assert abs(rates[0] - 0.6) < 0.08 and abs(rates[1] - 0.3) < 0.06 and rates[2] == 0.0
    # a sample noisy in phase 1 was noisy in phase 0 too, with the same wrong label
    first = len(tasks[0].y)
    assert not np.any(noisy[1][:first] & ~noisy[0])
    both = noisy[1][:first] & noisy[0]
    assert np.array_equal(tasks[1].y[:first][both], tasks[0].y[both])
    assert noise_rates(5, 0.5, 0.0) == [0.5, 0.375, 0.25, 0.125, 0.0]
