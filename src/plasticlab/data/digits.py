"""scikit-learn's 8×8 handwritten digits: embedded in the installed package, no download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from plasticlab.data.base import Dataset

SPLIT_SEED = 0  # one fixed split for every run, so all runs share the same test set
TEST_FRACTION = 0.25


def load(data_dir: Path | None = None) -> Dataset:
    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y
    )
    return Dataset("digits", x_train, y_train, x_test, y_test, n_classes=10)
