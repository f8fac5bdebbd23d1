"""Seeding and RNG state capture, so a run is deterministic on CPU and resumes bit-identically."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int, deterministic_cuda: bool = False) -> None:
    """Seed Python, NumPy's legacy global RNG and torch.

    CPU kernels used here are deterministic already. ``deterministic_cuda`` asks torch for
    deterministic GPU kernels (slower); it is off by default because the switch alone imports
    torch's compiler stack (~1.5 s per job), which would dominate the small default runs.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic_cuda:
        torch.use_deterministic_algorithms(True, warn_only=True)


def rng_state() -> dict[str, Any]:
    """Every global RNG state a run draws from (checkpointed with the model)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
