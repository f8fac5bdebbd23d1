"""The dataset container and the error for data that is not on disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Arrays ready for training: float32 inputs scaled into [0, 1], int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


class DatasetNotFoundError(FileNotFoundError):
    """Files of an on-disk dataset are missing; we never download, so say where to put them."""

    def __init__(self, dataset: str, directory: Path, missing: list[str]):
        self.dataset, self.directory, self.missing = dataset, Path(directory), list(missing)
        where = str(self.directory)
        if not self.directory.is_absolute():  # a relative data_dir depends on the cwd: show both
            where += f" (= {self.directory.absolute()})"
        super().__init__(
            f"dataset {dataset!r} not found: missing {', '.join(self.missing)} in {where}. "
            f"Put the files there, or point `data_dir` in the config (or PLASTICLAB_DATA_DIR) at the "
            f"directory that holds them; plasticlab never downloads data."
        )

    def __reduce__(self) -> tuple[type, tuple[str, Path, list[str]]]:
        # the default (cls(*args)) would call __init__ with the message alone: keep it picklable
        # so it survives process pools.
        return type(self), (self.dataset, self.directory, self.missing)


def default_data_dir() -> Path:
    """PLASTICLAB_DATA_DIR if set, else ./data (relative to the working directory)."""
    return Path(os.environ.get("PLASTICLAB_DATA_DIR", "data"))


def require_files(dataset: str, directory: Path, candidates: dict[str, list[str]]) -> dict[str, Path]:
    """For each logical file, the first existing candidate name in ``directory``; raise
    DatasetNotFoundError listing every logical file that has none."""
    found, missing = {}, []
    for key, names in candidates.items():
        existing = [directory / name for name in names if (directory / name).is_file()]
        if existing:
            found[key] = existing[0]
        else:
            missing.append(names[0] if len(names) == 1 else f"{names[0]} (or {', '.join(names[1:])})")
    if missing:
        raise DatasetNotFoundError(dataset, directory, missing)
    return found
