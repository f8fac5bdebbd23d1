"""Real feature embeddings shipped with scikit-learn, standing in for a genomic screen offline.

- ``diabetes``: 442 patients × 10 clinical features; the outcome is the data set's own measured
  disease progression after one year (a real outcome on real features; top 1% is 5 candidates,
  so a larger ``top_fraction`` is usually set).
- ``digits``: 1,797 8×8 images × 64 pixel features; the outcome is built from them, to mimic a
  screen where strong effects come from a few distinct mechanisms: each digit class c has an effect
  a_c ~ N(0, 1) and each image adds b · (its projection on a fixed random unit direction, z-scored)
  with b = ``within_class`` (default 0.5), all drawn from ``data_seed``. The top interventions then
  sit in the high-effect classes, which the feature clusters largely recover.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import datasets

from plasticlab.design.data.base import DesignData, make_data, standardise


def diabetes(spec: dict[str, Any]) -> DesignData:
    features, outcome = datasets.load_diabetes(return_X_y=True)
    return make_data("diabetes", features, outcome, spec)


def digits(spec: dict[str, Any]) -> DesignData:
    features, labels = datasets.load_digits(return_X_y=True)
    rng = np.random.default_rng(int(spec.get("data_seed", 0)))
    class_effect = rng.standard_normal(10)
    direction = rng.standard_normal(features.shape[1])
    within = standardise(standardise(features) @ (direction / np.linalg.norm(direction)))
    outcome = class_effect[labels] + float(spec.get("within_class", 0.5)) * within
    return make_data("digits", features, outcome, spec)
