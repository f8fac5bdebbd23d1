"""Helpers shared by interventions that overwrite parameters in place."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn


@torch.no_grad()
def copy_module_state(destination: nn.Module, source: nn.Module) -> None:
    """Copy parameters and buffers of ``source`` into ``destination`` in place (``copy_``), so
    the optimiser keeps referencing the same tensors and no memory is shared afterwards."""
    for (name, dst), (_, src) in zip(destination.state_dict(keep_vars=True).items(), source.state_dict(keep_vars=True).items()):
        dst.data.copy_(src.data)


def reset_optimizer_state(optimizer: torch.optim.Optimizer, params: Iterable[torch.Tensor]) -> None:
    """Forget the optimiser's moments and step count for ``params``: stale Adam statistics would
    otherwise scale the first updates of a re-initialised layer by the old layer's history."""
    for param in params:
        optimizer.state.pop(param, None)
