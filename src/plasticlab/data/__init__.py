"""Datasets by name: embedded ones (digits) and on-disk ones (MNIST, Fashion-MNIST, CIFAR)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from plasticlab.data import cifar, digits, idx
from plasticlab.data.base import Dataset, DatasetNotFoundError, default_data_dir

LOADERS: dict[str, Callable[[Path], Dataset]] = {
    "digits": digits.load,
    "mnist": idx.load_mnist,
    "fashion_mnist": idx.load_fashion_mnist,
    "cifar10": cifar.load_cifar10,
    "cifar100": cifar.load_cifar100,
}


# Where each on-disk dataset lives under ``data_dir`` (what ``dvc add data/<dir>`` versions).
ON_DISK_DIRECTORIES: dict[str, str] = {
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
    "cifar10": "cifar-10-batches-py",
    "cifar100": "cifar-100-python",
}


def on_disk_directory(name: str, data_dir: str | os.PathLike) -> Path | None:
    """The directory an on-disk dataset is read from; None for data that ships with a package."""
    sub = ON_DISK_DIRECTORIES.get(name)
    return Path(data_dir) / sub if sub else None


def available() -> list[str]:
    """Registered dataset names, sorted."""
    return sorted(LOADERS)


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load ``name``; on-disk datasets are read from ``data_dir`` (default: PLASTICLAB_DATA_DIR or ./data)."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; available: {', '.join(available())}") from None
    return loader(Path(data_dir) if data_dir is not None else default_data_dir())


__all__ = ["ON_DISK_DIRECTORIES", "Dataset", "DatasetNotFoundError", "available", "default_data_dir", "load_dataset",
           "on_disk_directory"]
