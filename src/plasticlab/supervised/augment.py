"""Batch image augmentation (random crop with padding + horizontal flip), vectorised.

Draws only from the generator it is given, which the trainer checkpoints, so a resumed run
augments the same way an uninterrupted one does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_and_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Standard CIFAR augmentation for a batch of shape (n, c, h, w)."""
    n, _, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding), mode="reflect")
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :]).to(images.device)  # (n, h)
    cols = (dx[:, None] + torch.arange(w)[None, :]).to(images.device)  # (n, w)
    batch = torch.arange(n, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    return torch.where(flip[:, None, None, None], out.flip(-1), out)
