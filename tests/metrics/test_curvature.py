"""Curvature estimates against the exact Hessian / Gauss–Newton matrix of tiny networks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from plasticlab.metrics import (
    flatten,
    gauss_newton_top_eigenvalue,
    hessian_top_eigenvalue_lanczos,
    hessian_top_eigenvalue_power,
    hessian_trace_hutchinson,
    hvp,
    unflatten,
)


def _tiny(seed: int = 0) -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2)).double()  # 20 parameters
    return net, (torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64))


def _mse(model: nn.Module, batch) -> torch.Tensor:
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def _flat_call(model: nn.Module, fn):
    """fn(model) as a function of one flat parameter vector."""
    names = [n for n, _ in model.named_parameters()]
    params = list(model.parameters())
    return lambda vector: fn(lambda *a: torch.func.functional_call(model, dict(zip(names, unflatten(vector, params))), a))


def _exact_hessian(model: nn.Module, batch) -> torch.Tensor:
    flat = flatten([p.detach() for p in model.parameters()])
    return torch.autograd.functional.hessian(_flat_call(model, lambda m: _mse(m, batch)), flat)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_hvp_equals_exact_hessian_times_vector():
    net, batch = _tiny(4)
    params = list(net.parameters())
    v = torch.randn(sum(p.numel() for p in params), generator=_gen(0), dtype=torch.float64)
    product = flatten(hvp(lambda: _mse(net, batch), params, unflatten(v, params)))
    torch.testing.assert_close(product, _exact_hessian(net, batch) @ v)


def test_lanczos_matches_the_exact_largest_algebraic_eigenvalue():
    net, batch = _tiny()
    exact = torch.linalg.eigvalsh(_exact_hessian(net, batch))
    assert exact[0] < 0 < exact[-1]  # indefinite, so "top" is ambiguous
    estimate = hessian_top_eigenvalue_lanczos(net, _mse, batch, k=20, generator=_gen(0))
    assert estimate == pytest.approx(float(exact[-1]), rel=1e-4)


def test_lanczos_works_in_float32():
    net, (x, y) = _tiny(5)
    exact = float(torch.linalg.eigvalsh(_exact_hessian(net, (x, y)))[-1])
    estimate = hessian_top_eigenvalue_lanczos(net.float(), _mse, (x.float(), y.float()), k=20, generator=_gen(0))
    assert estimate == pytest.approx(exact, rel=1e-4)


class _Quadratic(nn.Module):
    """loss = ½ θᵀ A θ with A = diag(2, −5, 1): largest |λ| is −5, largest λ is 2."""

    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64))

    def forward(self) -> torch.Tensor:
        return 0.5 * (torch.tensor([2.0, -5.0, 1.0], dtype=torch.float64) * self.theta**2).sum()


def test_power_iteration_finds_the_largest_magnitude_and_lanczos_the_largest_algebraic():
    model = _Quadratic()
    power = hessian_top_eigenvalue_power(model, lambda m, _: m(), None, iters=500, tol=1e-10, generator=_gen(1))
    lanczos = hessian_top_eigenvalue_lanczos(model, lambda m, _: m(), None, k=3, generator=_gen(1))
    assert power == pytest.approx(-5.0, rel=1e-3)
    assert lanczos == pytest.approx(2.0, rel=1e-4)


def test_power_iteration_matches_the_exact_largest_magnitude_eigenvalue():
    net, batch = _tiny(3)
    exact = torch.linalg.eigvalsh(_exact_hessian(net, batch))
    largest = float(exact[exact.abs().argmax()])
    estimate = hessian_top_eigenvalue_power(net, _mse, batch, iters=2000, tol=1e-9, generator=_gen(2))
    assert estimate == pytest.approx(largest, rel=1e-3)


def test_hutchinson_trace_is_within_its_standard_error_which_shrinks():
    net, batch = _tiny(1)
    exact = float(torch.trace(_exact_hessian(net, batch)))
    few, few_se = hessian_trace_hutchinson(net, _mse, batch, samples=30, generator=_gen(0))
    many, many_se = hessian_trace_hutchinson(net, _mse, batch, samples=480, generator=_gen(0))
    assert abs(many - exact) <= 3 * many_se
    assert abs(few - exact) <= 3 * few_se
    assert many_se < 0.5 * few_se  # ≈ 1/√16 of it in expectation


def _gn_exact(net: nn.Module, batch, output_loss) -> float:
    x, _ = batch
    params = list(net.parameters())
    flat = flatten([p.detach() for p in params])
    outputs = _flat_call(net, lambda m: m(x))
    j = torch.autograd.functional.jacobian(outputs, flat).reshape(-1, flat.numel())
    out = net(x).detach()
    h_out = torch.autograd.functional.hessian(lambda o: output_loss(o.view_as(out), batch), out.reshape(-1))
    return float(torch.linalg.eigvalsh(j.T @ h_out @ j)[-1])


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_gauss_newton_top_eigenvalue_matches_the_exact_jt_h_j(loss):
    net, (x, y) = _tiny(2)
    if loss == "mse":
        batch, output_loss = (x, y), lambda out, b: ((out - b[1]) ** 2).mean()
    else:  # non-diagonal output Hessian
        batch, output_loss = (x, y.argmax(1)), lambda out, b: F.cross_entropy(out, b[1])
    exact = _gn_exact(net, batch, output_loss)
    estimate = gauss_newton_top_eigenvalue(net, lambda m, b: m(b[0]), output_loss, batch, iters=2000, tol=1e-10,
                                           generator=_gen(0))
    assert exact > 0 and estimate == pytest.approx(exact, rel=1e-3)


def test_gauss_newton_is_psd_where_the_hessian_is_not():
    net, batch = _tiny(0)
    gn = gauss_newton_top_eigenvalue(net, lambda m, b: m(b[0]), lambda out, b: ((out - b[1]) ** 2).mean(), batch,
                                     iters=2000, tol=1e-10, generator=_gen(3))
    exact_hessian = torch.linalg.eigvalsh(_exact_hessian(net, batch))
    assert gn > 0 and exact_hessian[0] < 0
