"""One discovery campaign: C cycles of acquiring a batch of B interventions and re-fitting the model.

The first batch is random and shared by every method of a seed (there is no data to fit a model
on yet, and sharing it pairs the methods' comparison); each later cycle fits the model on all
measurements so far, forms the posterior over every candidate and lets the acquisition pick B of
the remaining ones. The result is the acquisition order, from which every metric is computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plasticlab.design.acquisitions import Acquisition
from plasticlab.design.data import DesignData
from plasticlab.design.models import build_model


def run_campaign(data: DesignData, measured: np.ndarray, first_batch: np.ndarray, model_spec: dict[str, Any],
                 acquisition: Acquisition, cycles: int, batch: int, rng: np.random.Generator,
                 device: str = "cpu") -> np.ndarray:
    """Indices of the ``cycles · batch`` acquired candidates, in acquisition order."""
    if cycles * batch > data.size:
        raise ValueError(f"{cycles} cycles × batch {batch} exceed the {data.size} candidates of {data.name!r}")
    available = np.ones(data.size, dtype=bool)
    order = [np.asarray(first_batch)]
    available[first_batch] = False
    model = build_model(model_spec, device) if acquisition.needs_model else None
    acquisition.prepare(data.features, rng)
    for _ in range(1, cycles):
        posterior = None
        if model is not None:
            acquired = np.concatenate(order)
            model.fit(data.features[acquired], measured[acquired], rng)
            posterior = model.posterior(data.features, acquisition.samples_needed(batch), rng)
        picks = acquisition.select(posterior, available, batch, rng)
        available[picks] = False
        order.append(picks)
    return np.concatenate(order)
