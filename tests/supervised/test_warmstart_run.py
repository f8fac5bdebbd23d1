"""The warm-start study's run: determinism, the protocol's structure, provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.data import load_dataset
from plasticlab.studies.base import RunSpec
from plasticlab.studies.warmstart import build_tasks, noisy_chunks


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


def test_chunks_partition_the_training_set_and_grow():
    data = load_dataset("digits")
    pieces = noisy_chunks(data, 4, 0.0, 0.0, seed=3)
    indices = np.concatenate([p[0] for p in pieces])
    assert sorted(indices) == list(range(len(data.y_train)))
    tasks = build_tasks(data, {"chunks": 4}, seed=3)
    assert [len(t.y) for t in tasks] == list(np.cumsum([len(p[0]) for p in pieces]))


def test_label_noise_rate_falls_linearly():
    data = load_dataset("digits")
    pieces = noisy_chunks(data, 3, 0.6, 0.0, seed=0)
    rates = [float(np.mean(labels != data.y_train[index])) for index, labels in pieces]
    assert abs(rates[0] - 0.6) < 0.08 and abs(rates[1] - 0.3) < 0.08 and rates[2] == 0.0
