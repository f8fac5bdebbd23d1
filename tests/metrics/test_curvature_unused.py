"""Parameters the loss does not use (auxiliary heads) are a zero block of the Hessian."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from plasticlab.metrics import hessian_top_eigenvalue_lanczos


def test_unused_parameters_do_not_change_the_top_eigenvalue():
    torch.manual_seed(0)
    body = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))

    class WithUnusedHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.aux = body, nn.Linear(4, 3)

        def forward(self, x):
            return self.body(x)

    x, y = torch.randn(12, 3), torch.randn(12, 2)

    def loss(model, batch):
        return ((model(batch[0]) - batch[1]) ** 2).mean()

    alone = hessian_top_eigenvalue_lanczos(body, loss, (x, y), k=20, generator=torch.Generator().manual_seed(0))
    wrapped = hessian_top_eigenvalue_lanczos(WithUnusedHead(), loss, (x, y), k=20, generator=torch.Generator().manual_seed(0))
    assert wrapped == pytest.approx(alone, rel=1e-6)
