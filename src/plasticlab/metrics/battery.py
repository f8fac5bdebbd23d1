"""Every plasticity-related measurement of one network on one task, in one call.

The probe steps of the stream studies run this on each saved snapshot, so the same numbers can be
recomputed later from pulled checkpoints without retraining.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from plasticlab.metrics.curvature import hessian_top_eigenvalue_lanczos
from plasticlab.metrics.probe import ProbeConfig, plasticity_probe
from plasticlab.losses import LOSSES
from plasticlab.metrics import representation as rep



def measure(net: nn.Module, make_fresh: Callable[[], nn.Module], inputs: torch.Tensor, targets: torch.Tensor,
            loss: str, probe: ProbeConfig, lanczos_k: int = 10) -> dict[str, float]:
    """Probe, curvature, rank, dormant units and norms of ``net`` on (inputs, targets)."""
    loss_fn = LOSSES[loss]
    net.eval()
    values = plasticity_probe(net, make_fresh, inputs, probe)
    values["hessian_top_eigenvalue"] = hessian_top_eigenvalue_lanczos(
        net, lambda model, batch: loss_fn(model(batch[0]), batch[1]), (inputs, targets), k=lanczos_k,
        generator=torch.Generator().manual_seed(probe.seed))
    features = rep.penultimate_features(net, inputs)
    values["srank"] = float(rep.srank(features))
    values["effective_rank"] = rep.effective_rank(features)
    values["feature_norm"] = rep.feature_norm(features)
    per_layer = rep.dormant_fraction(rep.layer_activations(net, inputs), tau=0.0)  # units silent on every input
    values["dormant_fraction"] = sum(per_layer.values()) / len(per_layer) if per_layer else 0.0
    values["parameter_norm"] = rep.parameter_norm(net)
    net.zero_grad(set_to_none=True)
    loss_fn(net(inputs), targets).backward()
    values["gradient_norm"] = rep.gradient_norm(net)
    net.zero_grad(set_to_none=True)
    return values
