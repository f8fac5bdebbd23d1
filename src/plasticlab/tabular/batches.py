"""Seed batches: the tabular studies run many seeds in one vectorised job.

Job j of a variant covers seeds j·b … min((j+1)·b, seeds) − 1 with b = ``seeds_per_job`` (default:
all seeds in one job). Its random numbers come from one generator keyed by (job, variant), so a
job's results depend only on its own config; the ``seed`` column of its metrics holds real seeds.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np


def per_job(study_config: dict[str, Any]) -> int:
    return int(study_config.get("seeds_per_job") or study_config["seeds"])


def job_count(study_config: dict[str, Any]) -> int:
    return math.ceil(int(study_config["seeds"]) / per_job(study_config))


def batch_seeds(study_config: dict[str, Any], job: int) -> list[int]:
    """The seeds job ``job`` runs; an error if the job index is past the last batch."""
    if not 0 <= job < job_count(study_config):
        raise ValueError(f"seed batch {job} does not exist: seeds={study_config['seeds']}, "
                         f"seeds_per_job={per_job(study_config)} give {job_count(study_config)} batch(es)")
    size = per_job(study_config)
    return list(range(job * size, min((job + 1) * size, int(study_config["seeds"]))))


def batch_rng(job: int, *keys: str | float) -> np.random.Generator:
    """A generator for one job, independent across jobs and across the given keys (variant, γ, …)."""
    words = [zlib.crc32(str(key).encode()) for key in keys]
    return np.random.default_rng(np.random.SeedSequence([int(job), *words]))
