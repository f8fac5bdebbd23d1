"""CIFAR-10/100 from the "python version" pickle batches (no download, no torchvision)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from plasticlab.data.base import Dataset, require_files


def _read_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a readable CIFAR batch ({error!r})") from error
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise ValueError(f"{path}: CIFAR batch has data shape {data.shape} and {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, labels


def _stack(paths: list[Path], label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    parts = [_read_batch(p, label_key) for p in paths]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def load_cifar10(data_dir: Path) -> Dataset:
    directory = Path(data_dir) / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    paths = require_files("cifar10", directory, {n: [n] for n in names})
    x_train, y_train = _stack([paths[n] for n in names[:5]], b"labels")
    x_test, y_test = _stack([paths["test_batch"]], b"labels")
    return Dataset("cifar10", x_train, y_train, x_test, y_test, n_classes=10)


def load_cifar100(data_dir: Path) -> Dataset:
    directory = Path(data_dir) / "cifar-100-python"
    paths = require_files("cifar100", directory, {"train": ["train"], "test": ["test"]})
    x_train, y_train = _stack([paths["train"]], b"fine_labels")
    x_test, y_test = _stack([paths["test"]], b"fine_labels")
    return Dataset("cifar100", x_train, y_train, x_test, y_test, n_classes=100)
