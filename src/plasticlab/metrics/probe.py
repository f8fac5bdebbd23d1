"""The plasticity probe: how well can a copy of this network still fit something new?

From a network (live or loaded from a checkpoint), a *copy* is trained for a fixed budget on a
fresh task built from inputs the network has seen, and so is a freshly initialised network of the
same architecture; the original is never modified. Two fresh tasks:

* regression (Lyle et al. 2023): targets g(x) = a + sin(10⁵ · f(x; θ_rand)), with f a randomly
  initialised copy of the architecture and a the probed network's mean output. The high
  frequency makes the targets effectively random but a deterministic function of x.
* classification: uniformly random labels on the inputs (memorisation).

Reported: the final loss / accuracy of the probed copy, the same for the fresh network, and
their ratio. Plasticity in the paper's sense is ``target variance − final loss``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from plasticlab.optim import AdamW


@dataclass(frozen=True)
class ProbeConfig:
    steps: int = 500
    lr: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    fused: bool = False  # AdamW on torch's fused kernel (faster; rounds differently from the default loop)


def regression_targets(net: nn.Module, random_net: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """g(x) = a + sin(10⁵ · f(x; θ_rand)), one target per output unit."""
    with torch.no_grad():
        offset = net(inputs).mean()
        return offset + torch.sin(1e5 * random_net(inputs))


def fit(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss: str, config: ProbeConfig) -> float:
    """Train ``net`` in place with Adam for ``config.steps`` minibatch steps; return the final
    full-batch loss (MSE) or accuracy (classification)."""
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = AdamW([p for p in net.parameters() if p.requires_grad], lr=config.lr, weight_decay=0.0,
                      fused=config.fused)  # = Adam
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.mse_loss if loss == "mse" else F.cross_entropy
    net.train()
    for _ in range(config.steps):
        index = torch.randint(0, len(inputs), (min(config.batch_size, len(inputs)),), generator=generator)
        value = loss_fn(net(inputs[index]), targets[index])
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        outputs = net(inputs)
        if loss == "mse":
            return float(F.mse_loss(outputs, targets))
        return float((outputs.argmax(dim=1) == targets).float().mean())


def plasticity_probe(net: nn.Module, make_fresh: Callable[[], nn.Module], inputs: torch.Tensor,
                     config: ProbeConfig = ProbeConfig()) -> dict[str, float]:
    """Probe ``net`` (unchanged) against a fresh network on the regression and relabelling tasks."""
    torch.manual_seed(config.seed)
    random_net = make_fresh()
    fresh = make_fresh()
    targets = regression_targets(net, random_net, inputs)
    with torch.no_grad():
        n_classes = net(inputs[:1]).shape[1]
    labels = torch.randint(0, n_classes, (len(inputs),), generator=torch.Generator().manual_seed(config.seed + 1))
    results = {
        "probe_regression_loss": fit(copy.deepcopy(net), inputs, targets, "mse", config),
        "fresh_regression_loss": fit(copy.deepcopy(fresh), inputs, targets, "mse", config),
        "probe_relabel_accuracy": fit(copy.deepcopy(net), inputs, labels, "cross_entropy", config),
        "fresh_relabel_accuracy": fit(copy.deepcopy(fresh), inputs, labels, "cross_entropy", config),
        "target_variance": float(targets.var(unbiased=False)),
    }
    results["regression_loss_ratio"] = results["probe_regression_loss"] / max(results["fresh_regression_loss"], 1e-12)
    results["relabel_accuracy_ratio"] = results["probe_relabel_accuracy"] / max(results["fresh_relabel_accuracy"], 1e-12)
    results["plasticity"] = results["target_variance"] - results["probe_regression_loss"]
    return results
