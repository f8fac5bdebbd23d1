"""Loss curvature from Hessian-vector products (never the full Hessian).

Lyle et al. 2023 found plasticity loss tracks the curvature of the loss landscape. The Hessian
is indefinite, so two estimates of "the top eigenvalue" differ: power iteration converges to the
eigenvalue of largest *magnitude*; Lanczos gives the largest *algebraic* one. The Gauss–Newton
matrix JᵀH_out J is positive semi-definite and is the usual stand-in in second-order analyses.

``loss_fn(model) -> scalar`` closes over a fixed batch, so every product sees the same data.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

LossFn = Callable[[nn.Module], torch.Tensor]


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad]


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _unflat(vector: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    out, start = [], 0
    for t in like:
        out.append(vector[start : start + t.numel()].view_as(t))
        start += t.numel()
    return out


class HessianOperator:
    """v ↦ H v for the loss at the current parameters; the gradient graph is built once."""

    def __init__(self, model: nn.Module, loss_fn: LossFn):
        self.params = _params(model)
        loss = loss_fn(model)
        self.grads = torch.autograd.grad(loss, self.params, create_graph=True)
        self.dim = sum(p.numel() for p in self.params)
        self.calls = 0

    def __call__(self, vector: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        products = torch.autograd.grad(self.grads, self.params, _unflat(vector, self.params), retain_graph=True)
        return _flat([p.detach() for p in products])


def _random_unit(dim: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    v = torch.randn(dim, generator=generator).to(device)
    return v / v.norm()


def power_iteration(operator: Callable[[torch.Tensor], torch.Tensor], dim: int, iters: int = 100, tol: float = 1e-5,
                    generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> float:
    """Eigenvalue of largest magnitude of a symmetric operator (Rayleigh quotient at convergence)."""
    v = _random_unit(dim, generator, torch.device(device))
    eigenvalue = 0.0
    for _ in range(iters):
        w = operator(v)
        new = float(v @ w)
        norm = w.norm()
        if norm == 0:
            return 0.0
        v = w / norm
        if abs(new - eigenvalue) <= tol * max(abs(new), 1e-12):
            return new
        eigenvalue = new
    return eigenvalue


def lanczos_top(operator: Callable[[torch.Tensor], torch.Tensor], dim: int, k: int = 30,
                generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> float:
    """Largest algebraic eigenvalue by k Lanczos steps with full reorthogonalisation."""
    k = min(k, dim)
    basis = torch.zeros(k, dim, dtype=torch.float64, device=device)
    alphas, betas = [], []
    v = _random_unit(dim, generator, torch.device(device)).double()
    for j in range(k):
        basis[j] = v
        w = operator(v.float()).double()
        alpha = float(w @ v)
        w = w - alpha * v - (betas[-1] * basis[j - 1] if j > 0 else 0.0)
        w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)  # full reorthogonalisation
        alphas.append(alpha)
        beta = float(w.norm())
        if beta < 1e-10 or j == k - 1:
            break
        betas.append(beta)
        v = w / beta
    tridiagonal = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    off = torch.tensor(betas[: len(alphas) - 1], dtype=torch.float64)
    if len(off):
        tridiagonal += torch.diag(off, 1) + torch.diag(off, -1)
    return float(torch.linalg.eigvalsh(tridiagonal)[-1])


def hessian_top_eigenvalue_power(model: nn.Module, loss_fn: LossFn, iters: int = 100, tol: float = 1e-5,
                                 generator: torch.Generator | None = None) -> float:
    """Largest-|λ| Hessian eigenvalue by power iteration on Hessian-vector products."""
    operator = HessianOperator(model, loss_fn)
    return power_iteration(operator, operator.dim, iters, tol, generator, operator.params[0].device)


def hessian_top_eigenvalue_lanczos(model: nn.Module, loss_fn: LossFn, k: int = 30,
                                   generator: torch.Generator | None = None) -> float:
    """Largest algebraic Hessian eigenvalue by Lanczos on Hessian-vector products."""
    operator = HessianOperator(model, loss_fn)
    return lanczos_top(operator, operator.dim, k, generator, operator.params[0].device)


def hessian_trace_hutchinson(model: nn.Module, loss_fn: LossFn, samples: int = 100,
                             generator: torch.Generator | None = None) -> tuple[float, float]:
    """Hutchinson's estimator E[zᵀHz] with Rademacher z: (trace estimate, its standard error)."""
    operator = HessianOperator(model, loss_fn)
    device = operator.params[0].device
    values = []
    for _ in range(samples):
        z = (torch.randint(0, 2, (operator.dim,), generator=generator) * 2 - 1).to(device, torch.float32)
        values.append(float(z @ operator(z)))
    estimates = torch.tensor(values, dtype=torch.float64)
    stderr = float(estimates.std(unbiased=True) / samples**0.5) if samples > 1 else float("inf")
    return float(estimates.mean()), stderr


def gauss_newton_top_eigenvalue(model: nn.Module, outputs_fn: Callable[[Callable[..., torch.Tensor]], torch.Tensor],
                                output_loss: Callable[[torch.Tensor], torch.Tensor], iters: int = 100,
                                tol: float = 1e-5, generator: torch.Generator | None = None) -> float:
    """Top eigenvalue of G = Jᵀ H_out J (PSD), with J = ∂outputs/∂θ and H_out the Hessian of the
    loss in the outputs; products by a Jacobian-vector product, an output-space Hessian-vector
    product and a vector-Jacobian product. ``outputs_fn(net)`` calls ``net(x)`` on the fixed batch."""
    params = _params(model)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    base = {n: p.detach() for n, p in zip(names, params)}
    dim = sum(p.numel() for p in params)

    def _call(tensors: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return outputs_fn(_Bound(model, dict(zip(names, tensors))))

    outputs = _call(tuple(base.values()))
    out_detached = outputs.detach().requires_grad_(True)
    out_grad = torch.autograd.grad(output_loss(out_detached), out_detached, create_graph=True)[0]

    def operator(vector: torch.Tensor) -> torch.Tensor:
        tangents = tuple(_unflat(vector, params))
        _, jv = torch.func.jvp(lambda *t: _call(t), tuple(base.values()), tangents)
        hjv = torch.autograd.grad(out_grad, out_detached, jv, retain_graph=True)[0]
        _, vjp_fn = torch.func.vjp(lambda *t: _call(t), *base.values())
        return _flat([g.detach() for g in vjp_fn(hjv)])

    return power_iteration(operator, dim, iters, tol, generator, params[0].device)


class _Bound:
    """Callable stand-in for ``model`` whose parameters are the given tensors (torch.func)."""

    def __init__(self, model: nn.Module, params: dict[str, torch.Tensor]):
        self.model, self.params = model, params

    def __call__(self, *args: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self.model, self.params, args, strict=False)
