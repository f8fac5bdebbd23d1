"""Task losses and the score reported beside each (accuracy for classification, R² for
regression): one registry shared by the trainer and the metrics, so a new task type is added once."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def _r2(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Coefficient of determination over all output dimensions (1 = perfect fit)."""
    residual = ((outputs - targets) ** 2).sum()
    total = ((targets - targets.mean(dim=0)) ** 2).sum()
    return float(1.0 - residual / total) if total > 0 else float("nan")


# Loss of a task type, and the score reported beside it ("accuracy" for classification, "r2" for
# regression); a registry so a new task type touches no loop code.
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "mse": F.mse_loss,
}
SCORES: dict[str, tuple[str, Callable[[torch.Tensor, torch.Tensor], float]]] = {
    "cross_entropy": ("accuracy", lambda out, y: float((out.argmax(dim=1) == y).float().mean())),
    "mse": ("r2", _r2),
}
