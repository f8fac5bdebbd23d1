"""scikit-learn's 8×8 handwritten digits: embedded in the installed package, no download.

The CSV that scikit-learn ships is read directly (``sklearn.datasets.load_digits`` would import
scikit-learn, ~1 s per training job for nothing). The train/test split is stratified and fixed
(split seed 0, independent of run seeds) so every run shares the same test set.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from plasticlab.data.base import Dataset, DatasetNotFoundError

SPLIT_SEED = 0
TEST_FRACTION = 0.25


def _read_embedded() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    if spec is None or spec.origin is None:
        raise DatasetNotFoundError("digits", Path("<scikit-learn>"), ["scikit-learn (pip install scikit-learn)"])
    source = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if not source.is_file():
        raise DatasetNotFoundError("digits", source.parent, [source.name])
    with gzip.open(source, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): in every class, round(test_fraction · count) samples go to test."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(test_fraction * len(members)))
        test.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def load(data_dir: Path | None = None) -> Dataset:
    """The 1797 digits as (n, 64) float32 in [0, 1], split 1347/450; ``data_dir`` is ignored."""
    pixels, labels = _read_embedded()
    x = (pixels / 16.0).astype(np.float32)
    train, test = stratified_split(labels, TEST_FRACTION, SPLIT_SEED)
    return Dataset("digits", x[train], labels[train], x[test], labels[test], n_classes=10)
