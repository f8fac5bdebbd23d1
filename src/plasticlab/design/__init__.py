"""Experimental design for discovery: DiscoBAX (Lyle et al. 2023) and its baselines.

``models`` (GP, MC dropout, ensemble) give a :class:`~plasticlab.design.models.Posterior` over all
candidates; ``acquisitions`` turn it into a batch; ``subset_select`` is DiscoBAX's inner algorithm;
``data`` builds candidate sets; ``metrics`` score an acquisition order per cycle; ``campaign`` runs
the cycles.
"""

from plasticlab.design.acquisitions import ACQUISITIONS, build_acquisition
from plasticlab.design.campaign import run_campaign
from plasticlab.design.data import DATASETS, build_dataset
from plasticlab.design.models import MODELS, build_model

__all__ = ["ACQUISITIONS", "DATASETS", "MODELS", "build_acquisition", "build_dataset", "build_model", "run_campaign"]
