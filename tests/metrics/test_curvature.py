"""Curvature estimates against the exact Hessian / Gauss–Newton matrix of tiny networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from plasticlab.metrics import (
    gauss_newton_top_eigenvalue,
    hessian_top_eigenvalue_lanczos,
    hessian_top_eigenvalue_power,
    hessian_trace_hutchinson,
)


def _tiny(seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2))  # 20 parameters
    return net, torch.randn(16, 3), torch.randn(16, 2)


def _mse(x, y):
    return lambda model: ((model(x) - y) ** 2).mean()


def _exact_hessian(model: nn.Module, loss_fn) -> torch.Tensor:
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()

    def f(vector):
        params, start = {}, 0
        for name, shape in zip(names, shapes):
            size = int(torch.tensor(shape).prod()) if len(shape) else 1
            params[name] = vector[start : start + size].view(shape)
            start += size
        return loss_fn(lambda x: torch.func.functional_call(model.double(), params, (x,)))

    hessian = torch.autograd.functional.hessian(f, flat)
    model.float()
    return hessian


def test_lanczos_matches_the_exact_largest_algebraic_eigenvalue():
    net, x, y = _tiny()
    exact = torch.linalg.eigvalsh(_exact_hessian(net, lambda m: ((m(x.double()) - y.double()) ** 2).mean()))
    estimate = hessian_top_eigenvalue_lanczos(net, _mse(x, y), k=20, generator=torch.Generator().manual_seed(0))
    assert estimate == pytest.approx(float(exact[-1]), rel=1e-4)


def test_power_iteration_finds_the_largest_magnitude_and_lanczos_the_largest_algebraic():
    # loss = ½ θᵀ A θ with A = diag(2, −5, 1): largest |λ| is −5, largest λ is 2
    class Quadratic(nn.Module):
        def __init__(self):
            super().__init__()
            self.theta = nn.Parameter(torch.tensor([0.3, -0.2, 0.5]))

        def forward(self, _=None):
            return 0.5 * (torch.tensor([2.0, -5.0, 1.0]) * self.theta**2).sum()

    model = Quadratic()
    power = hessian_top_eigenvalue_power(model, lambda m: m(), iters=500, tol=1e-9, generator=torch.Generator().manual_seed(1))
    lanczos = hessian_top_eigenvalue_lanczos(model, lambda m: m(), k=3, generator=torch.Generator().manual_seed(1))
    assert power == pytest.approx(-5.0, rel=1e-3)
    assert lanczos == pytest.approx(2.0, rel=1e-4)


def test_power_iteration_matches_the_exact_largest_magnitude_eigenvalue():
    net, x, y = _tiny(3)
    exact = torch.linalg.eigvalsh(_exact_hessian(net, lambda m: ((m(x.double()) - y.double()) ** 2).mean()))
    largest = float(exact[exact.abs().argmax()])
    estimate = hessian_top_eigenvalue_power(net, _mse(x, y), iters=1000, tol=1e-8, generator=torch.Generator().manual_seed(2))
    assert estimate == pytest.approx(largest, rel=1e-3)


def test_hutchinson_trace_is_within_its_standard_error_which_shrinks():
    net, x, y = _tiny(1)
    exact = float(torch.trace(_exact_hessian(net, lambda m: ((m(x.double()) - y.double()) ** 2).mean())))
    few, few_se = hessian_trace_hutchinson(net, _mse(x, y), samples=30, generator=torch.Generator().manual_seed(0))
    many, many_se = hessian_trace_hutchinson(net, _mse(x, y), samples=300, generator=torch.Generator().manual_seed(0))
    assert abs(many - exact) <= 3 * many_se
    assert abs(few - exact) <= 4 * few_se
    assert many_se < few_se


def test_gauss_newton_top_eigenvalue_matches_the_exact_jt_h_j():
    net, x, y = _tiny(2)
    params = list(net.parameters())
    names = [n for n, _ in net.named_parameters()]

    def outputs(*flat):
        return torch.func.functional_call(net, dict(zip(names, flat)), (x,)).reshape(-1)

    jacobian = torch.autograd.functional.jacobian(outputs, tuple(p.detach() for p in params))
    j = torch.cat([block.reshape(block.shape[0], -1) for block in jacobian], dim=1).double()
    h_out = torch.eye(j.shape[0], dtype=torch.float64) * 2.0 / j.shape[0]  # Hessian of the mean squared error
    exact = float(torch.linalg.eigvalsh(j.T @ h_out @ j)[-1])
    estimate = gauss_newton_top_eigenvalue(net, lambda m: m(x), lambda out: ((out - y) ** 2).mean(), iters=1000, tol=1e-9,
                                           generator=torch.Generator().manual_seed(0))
    assert exact > 0 and estimate == pytest.approx(exact, rel=1e-3)
