"""Helpers shared by interventions that overwrite parameters in place."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn


@torch.no_grad()
def copy_module_state(destination: nn.Module, source: nn.Module) -> None:
    """Copy parameters and buffers of ``source`` into ``destination`` in place (``copy_``).

    In place so the optimiser keeps referencing the same tensors, and a copy so the two modules
    share no memory afterwards. Entries are matched by name: a silent positional match between
    different architectures would scramble weights.
    """
    dst_state = destination.state_dict(keep_vars=True)
    src_state = source.state_dict(keep_vars=True)
    if dst_state.keys() != src_state.keys():
        missing, extra = sorted(dst_state.keys() - src_state.keys()), sorted(src_state.keys() - dst_state.keys())
        raise ValueError(f"cannot copy between different architectures: missing {missing}, unexpected {extra}")
    for name, dst in dst_state.items():
        dst.data.copy_(src_state[name].data)


def reset_optimizer_state(optimizer: torch.optim.Optimizer, params: Iterable[torch.Tensor]) -> None:
    """Forget the optimiser's moments and step count for ``params`` (and only those).

    Stale Adam statistics would otherwise scale the first updates of a re-initialised layer by
    the old layer's history. Dropping the entry makes the optimiser start it afresh (zero
    moments, step 0) at its next step, exactly as for a newly created optimiser.
    """
    for param in params:
        optimizer.state.pop(param, None)
