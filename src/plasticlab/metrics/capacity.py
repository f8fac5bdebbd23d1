"""Target-fitting capacity (Lyle et al. 2022, "Understanding and preventing capacity loss in RL").

The capacity of a network state is how well a copy of it can fit *new* targets drawn from a
family of functions in a fixed optimisation budget. The 2022 paper draws those targets from
randomly initialised networks: f(x) = g(x; ψ) with ψ a fresh initialisation, regressed with the
mean squared error. A network that has lost capacity ends the budget with a higher loss than it
had at initialisation. (The 2023 probe of ``metrics.probe``, sin(10⁵·f(x)), makes the targets
effectively random; this one keeps their smooth structure, which is what a trained network
finds hard to fit again.)

Reported per probe: the final MSE of the probed copy and of a freshly initialised network on the
same targets, their ratio, and the target variance (the loss of predicting the mean).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from plasticlab.metrics.probe import ProbeConfig, fit


@dataclass(frozen=True)
class CapacityConfig:
    steps: int = 500
    lr: float = 1e-3
    batch_size: int = 64
    targets: int = 1  # random target networks per probe (the loss is averaged over them)
    seed: int = 0


@torch.no_grad()
def random_network_targets(target_net: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The outputs of a (randomly initialised) target network on ``inputs``."""
    was_training = target_net.training
    target_net.eval()
    outputs = target_net(inputs)
    target_net.train(was_training)
    return outputs


def target_fitting_loss(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, config: CapacityConfig) -> float:
    """Final full-batch MSE after training a copy of ``net`` on (inputs, targets); ``net`` unchanged."""
    probe = ProbeConfig(steps=config.steps, lr=config.lr, batch_size=config.batch_size, seed=config.seed, fused=True)
    return fit(copy.deepcopy(net), inputs, targets, "mse", probe)


def capacity_probe(net: nn.Module, make_fresh: Callable[[], nn.Module], make_target: Callable[[int], nn.Module],
                   inputs: torch.Tensor, config: CapacityConfig = CapacityConfig(),
                   fresh_memo: dict[int, float] | None = None) -> dict[str, float]:
    """Fit ``config.targets`` random-network target functions from ``net`` and from a fresh network.

    ``make_target(k)`` builds target network k (its initialisation must depend only on k and the
    run, so every snapshot of a run, and every variant, faces the same targets); ``make_fresh``
    builds the reference network, drawn once from ``config.seed``. The fresh network's loss
    depends only on the targets and inputs, so a caller probing many snapshots on the same
    inputs passes one ``fresh_memo`` (target k → loss) and pays for it once.
    """
    memo = {} if fresh_memo is None else fresh_memo
    probe_losses, fresh_losses, variances = [], [], []
    for k in range(config.targets):
        targets = random_network_targets(make_target(k), inputs)
        probe_losses.append(target_fitting_loss(net, inputs, targets, config))
        if k not in memo:
            torch.manual_seed(config.seed)
            memo[k] = target_fitting_loss(make_fresh(), inputs, targets, config)
        fresh_losses.append(memo[k])
        variances.append(float(F.mse_loss(targets, targets.mean(dim=0, keepdim=True).expand_as(targets))))
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    results = {
        "capacity_probe_loss": mean(probe_losses),
        "capacity_fresh_loss": mean(fresh_losses),
        "capacity_target_variance": mean(variances),
    }
    results["capacity_loss_ratio"] = results["capacity_probe_loss"] / max(results["capacity_fresh_loss"], 1e-12)
    results["capacity_normalised_loss"] = results["capacity_probe_loss"] / max(results["capacity_target_variance"], 1e-12)
    return results
