"""CIFAR-10/100 from the "python version" pickle batches (no download, no torchvision).

Each batch is a pickled dict with b"data" (uint8, (n, 3072), channel-major 3×32×32) and the labels
(b"labels" for CIFAR-10, b"fine_labels" for CIFAR-100). Only load batches you trust: they are pickles.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from plasticlab.data.base import Dataset, require_files


def _read_batch(path: Path, label_key: bytes, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 3072) pixels and int64 labels of one batch; ValueError naming the file if unusable."""
    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except Exception as error:  # unpickling a corrupt file can fail in many ways; all mean "unreadable"
        raise ValueError(f"{path}: not a readable CIFAR batch ({error!r})") from error
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.ndim != 1 or len(data) != len(labels):
        raise ValueError(f"{path}: CIFAR batch has data shape {data.shape} and label shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{path}: labels outside 0..{n_classes - 1}")
    return data, labels


def _stack(paths: list[Path], label_key: bytes, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate batches as uint8, then scale once (avoids a second full-size float copy)."""
    parts = [_read_batch(p, label_key, n_classes) for p in paths]
    images = np.concatenate([p[0] for p in parts]).reshape(-1, 3, 32, 32).astype(np.float32)
    images /= 255.0
    return images, np.concatenate([p[1] for p in parts])


def load_cifar10(data_dir: Path) -> Dataset:
    directory = Path(data_dir) / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    paths = require_files("cifar10", directory, {n: [n] for n in names})
    x_train, y_train = _stack([paths[n] for n in names[:5]], b"labels", 10)
    x_test, y_test = _stack([paths["test_batch"]], b"labels", 10)
    return Dataset("cifar10", x_train, y_train, x_test, y_test, n_classes=10)


def load_cifar100(data_dir: Path) -> Dataset:
    directory = Path(data_dir) / "cifar-100-python"
    paths = require_files("cifar100", directory, {"train": ["train"], "test": ["test"]})
    x_train, y_train = _stack([paths["train"]], b"fine_labels", 100)
    x_test, y_test = _stack([paths["test"]], b"fine_labels", 100)
    return Dataset("cifar100", x_train, y_train, x_test, y_test, n_classes=100)
