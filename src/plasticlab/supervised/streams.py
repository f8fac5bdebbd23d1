"""Nonstationary task streams on an embedded dataset (Lyle et al. 2023, 2024).

Each stream turns one dataset into a sequence of tasks of equal size, so every task has the same
step budget and the training score at the end of each task measures plasticity: how well the
network can still fit something new. Streams differ in *what* changes:

* ``permuted``:          the inputs (a fixed random pixel permutation per task), labels kept;
* ``random_labels``:     the targets (a fresh random labelling of a fixed subset: memorisation);
* ``label_shuffle``:     the targets (a random permutation of the class identities per task);
* ``class_incremental``: the data (task k adds ``classes_per_task`` new classes);
* ``growing_targets``:   the target scale (regression on a fixed random function of the input
                         whose scale grows by ``growth`` per task: the large-target mechanism of
                         Lyle et al. 2024).

A builder returns the tasks and the network's output width.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from plasticlab.data import Dataset
from plasticlab.supervised.trainer import Task

StreamBuilder = Callable[[Dataset, int, np.random.Generator, dict[str, Any]], tuple[list[Task], int]]
STREAMS: dict[str, StreamBuilder] = {}


def stream(name: str) -> Callable[[StreamBuilder], StreamBuilder]:
    def decorate(builder: StreamBuilder) -> StreamBuilder:
        STREAMS[name] = builder
        return builder

    return decorate


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


@stream("permuted")
def permuted(data: Dataset, tasks: int, rng: np.random.Generator, options: dict[str, Any]) -> tuple[list[Task], int]:
    x, x_test = _flat(data.x_train), _flat(data.x_test)
    out = []
    for k in range(tasks):
        order = np.arange(x.shape[1]) if k == 0 else rng.permutation(x.shape[1])
        out.append(Task(_tensor(x[:, order]), _tensor(data.y_train),
                        {"test": (_tensor(x_test[:, order]), _tensor(data.y_test))}))
    return out, data.n_classes


@stream("random_labels")
def random_labels(data: Dataset, tasks: int, rng: np.random.Generator, options: dict[str, Any]) -> tuple[list[Task], int]:
    subset = min(int(options.get("subset", 512)), len(data.y_train))
    index = rng.choice(len(data.y_train), size=subset, replace=False)
    x = _tensor(_flat(data.x_train[index]))
    out = [Task(x, _tensor(rng.integers(0, data.n_classes, size=subset).astype(np.int64))) for _ in range(tasks)]
    return out, data.n_classes


@stream("label_shuffle")
def label_shuffle(data: Dataset, tasks: int, rng: np.random.Generator, options: dict[str, Any]) -> tuple[list[Task], int]:
    x, x_test = _tensor(_flat(data.x_train)), _tensor(_flat(data.x_test))
    out = []
    for k in range(tasks):
        mapping = np.arange(data.n_classes) if k == 0 else rng.permutation(data.n_classes)
        out.append(Task(x, _tensor(mapping[data.y_train]), {"test": (x_test, _tensor(mapping[data.y_test]))}))
    return out, data.n_classes


@stream("class_incremental")
def class_incremental(data: Dataset, tasks: int, rng: np.random.Generator, options: dict[str, Any]) -> tuple[list[Task], int]:
    per_task = int(options.get("classes_per_task", 2))
    order = rng.permutation(data.n_classes)
    out = []
    for k in range(tasks):
        classes = order[: min(data.n_classes, per_task * (k + 1))]
        train, test = np.isin(data.y_train, classes), np.isin(data.y_test, classes)
        out.append(Task(_tensor(_flat(data.x_train[train])), _tensor(data.y_train[train]),
                        {"test": (_tensor(_flat(data.x_test[test])), _tensor(data.y_test[test]))}))
    return out, data.n_classes


@stream("growing_targets")
def growing_targets(data: Dataset, tasks: int, rng: np.random.Generator, options: dict[str, Any]) -> tuple[list[Task], int]:
    outputs = int(options.get("outputs", 10))
    scale, growth = float(options.get("scale_start", 1.0)), float(options.get("growth", 2.0))
    x, x_test = _flat(data.x_train), _flat(data.x_test)
    projection = rng.normal(size=(x.shape[1], outputs)) / np.sqrt(x.shape[1])
    mean = x.mean(axis=0)

    def targets(inputs: np.ndarray) -> np.ndarray:
        return np.sin(3.0 * (inputs - mean) @ projection).astype(np.float32)

    base, base_test = targets(x), targets(x_test)
    out = [Task(_tensor(x), _tensor(base * scale * growth**k), {"test": (_tensor(x_test), _tensor(base_test * scale * growth**k))},
                loss="mse") for k in range(tasks)]
    return out, outputs


def build_stream(name: str, data: Dataset, tasks: int, seed: int, options: dict[str, Any] | None = None) -> tuple[list[Task], int]:
    """The tasks of stream ``name`` and the output width; the draws depend only on ``seed``."""
    try:
        builder = STREAMS[name]
    except KeyError:
        raise KeyError(f"unknown stream {name!r}; available: {', '.join(sorted(STREAMS))}") from None
    return builder(data, tasks, np.random.default_rng(seed), dict(options or {}))
