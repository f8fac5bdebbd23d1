"""Loss curvature from Hessian-vector products (never the full Hessian).

Lyle et al. 2023 found plasticity loss tracks the curvature of the loss landscape. The Hessian
is indefinite, so two estimates of "the top eigenvalue" differ: power iteration converges to the
eigenvalue of largest *magnitude*; Lanczos gives the largest *algebraic* one. The Gauss–Newton
matrix JᵀH_out J is positive semi-definite and is the usual stand-in in second-order analyses.

``loss_fn(model, batch) -> scalar`` is evaluated on one fixed batch, so every product sees the
same data (put the model in eval mode first if it has dropout).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import nn

LossFn = Callable[[nn.Module, Any], torch.Tensor]
Operator = Callable[[torch.Tensor], torch.Tensor]


def trainable_parameters(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad]


def flatten(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """One vector from a list of tensors (e.g. parameters or their gradients)."""
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten(vector: torch.Tensor, like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Inverse of :func:`flatten`: views of ``vector`` shaped like ``like``."""
    out, start = [], 0
    for t in like:
        out.append(vector[start : start + t.numel()].view_as(t))
        start += t.numel()
    if start != vector.numel():
        raise ValueError(f"vector has {vector.numel()} entries, the tensors {start}")
    return out


def hvp(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor],
        vector: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """H v by double backward, H the Hessian of ``loss_fn()`` in ``params`` (one-off; for repeated
    products use :class:`HessianOperator`, which builds the gradient graph once)."""
    grads = torch.autograd.grad(loss_fn(), list(params), create_graph=True)
    products = torch.autograd.grad(grads, list(params), list(vector), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g.detach() for g, p in zip(products, params)]


class HessianOperator:
    """Flat v ↦ H v for the loss on a fixed batch at the current parameters."""

    def __init__(self, model: nn.Module, loss_fn: LossFn, batch: Any):
        # Parameters the loss does not depend on (e.g. auxiliary heads) span a zero block of the
        # Hessian; they are left out of the operator's space.
        params = trainable_parameters(model)
        grads = torch.autograd.grad(loss_fn(model, batch), params, create_graph=True, allow_unused=True)
        used = [(p, g) for p, g in zip(params, grads) if g is not None]
        self.params, self.grads = [p for p, _ in used], [g for _, g in used]
        self.dim = sum(p.numel() for p in self.params)
        self.device, self.dtype = self.params[0].device, self.params[0].dtype
        self.calls = 0

    def __call__(self, vector: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        tangent = unflatten(vector.to(self.device, self.dtype), self.params)
        products = torch.autograd.grad(self.grads, self.params, tangent, retain_graph=True, allow_unused=True)
        return flatten([torch.zeros_like(p) if g is None else g.detach() for g, p in zip(products, self.params)])


def _random_unit(dim: int, generator: torch.Generator | None) -> torch.Tensor:
    v = torch.randn(dim, generator=generator, dtype=torch.float64)
    return v / v.norm()


def power_iteration(operator: Operator, dim: int, iters: int = 100, tol: float = 1e-4,
                    generator: torch.Generator | None = None) -> float:
    """Eigenvalue of largest magnitude of a symmetric operator: the Rayleigh quotient, stopped when
    its relative change falls below ``tol``."""
    v = _random_unit(dim, generator)
    eigenvalue = 0.0
    for _ in range(iters):
        w = operator(v).double().cpu()
        new = float(v @ w)
        norm = w.norm()
        if norm == 0:
            return 0.0
        v = w / norm
        if abs(new - eigenvalue) <= tol * max(abs(new), 1e-12):
            return new
        eigenvalue = new
    return eigenvalue


def lanczos_top(operator: Operator, dim: int, k: int = 30, generator: torch.Generator | None = None) -> float:
    """Largest algebraic eigenvalue: k Lanczos steps with full reorthogonalisation, then the top
    eigenvalue of the k×k tridiagonal matrix."""
    k = min(k, dim)
    basis = torch.zeros(k, dim, dtype=torch.float64)
    alphas: list[float] = []
    betas: list[float] = []
    v = _random_unit(dim, generator)
    for j in range(k):
        basis[j] = v
        w = operator(v).double().cpu()
        alpha = float(w @ v)
        alphas.append(alpha)
        w = w - alpha * v - (betas[-1] * basis[j - 1] if j > 0 else 0.0)
        for _ in range(2):  # full reorthogonalisation, twice for numerical safety
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(w.norm())
        if j == k - 1 or beta < 1e-10 * max(abs(a) for a in alphas + [1e-30]):
            break  # Krylov space exhausted: the tridiagonal eigenvalues are exact
        betas.append(beta)
        v = w / beta
    off = torch.tensor(betas[: len(alphas) - 1], dtype=torch.float64)
    tridiagonal = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if len(off):
        tridiagonal += torch.diag(off, 1) + torch.diag(off, -1)
    return float(torch.linalg.eigvalsh(tridiagonal)[-1])


def hessian_top_eigenvalue_power(model: nn.Module, loss_fn: LossFn, batch: Any, iters: int = 100,
                                 tol: float = 1e-4, generator: torch.Generator | None = None) -> float:
    """Largest-|λ| Hessian eigenvalue (may be negative) by power iteration."""
    operator = HessianOperator(model, loss_fn, batch)
    return power_iteration(operator, operator.dim, iters, tol, generator)


def hessian_top_eigenvalue_lanczos(model: nn.Module, loss_fn: LossFn, batch: Any, k: int = 30,
                                   generator: torch.Generator | None = None) -> float:
    """Largest algebraic Hessian eigenvalue by Lanczos."""
    operator = HessianOperator(model, loss_fn, batch)
    return lanczos_top(operator, operator.dim, k, generator)


def hessian_trace_hutchinson(model: nn.Module, loss_fn: LossFn, batch: Any, samples: int = 100,
                             generator: torch.Generator | None = None) -> tuple[float, float]:
    """Hutchinson's estimator E[zᵀHz] with Rademacher z: (trace estimate, its standard error)."""
    operator = HessianOperator(model, loss_fn, batch)
    values = []
    for _ in range(samples):
        z = torch.randint(0, 2, (operator.dim,), generator=generator).double() * 2 - 1
        values.append(float(z @ operator(z).double().cpu()))
    estimates = torch.tensor(values, dtype=torch.float64)
    stderr = float(estimates.std() / samples**0.5) if samples > 1 else float("inf")
    return float(estimates.mean()), stderr


class _Outputs(nn.Module):
    """Wraps ``outputs_fn(model, batch)`` as a module, so torch.func can swap the model's parameters."""

    def __init__(self, model: nn.Module, outputs_fn: Callable[[nn.Module, Any], torch.Tensor], batch: Any):
        super().__init__()
        self.model, self.outputs_fn, self.batch = model, outputs_fn, batch

    def forward(self) -> torch.Tensor:
        return self.outputs_fn(self.model, self.batch)


def gauss_newton_operator(model: nn.Module, outputs_fn: Callable[[nn.Module, Any], torch.Tensor],
                          output_loss: Callable[[torch.Tensor, Any], torch.Tensor], batch: Any) -> tuple[Operator, int]:
    """Flat v ↦ Jᵀ H_out J v, J = ∂outputs/∂θ, H_out the Hessian of the loss in the outputs:
    a forward-mode jvp, an output-space Hessian-vector product, then a vjp."""
    wrapper = _Outputs(model, outputs_fn, batch)
    names = [f"model.{n}" for n, p in model.named_parameters() if p.requires_grad]
    primals = tuple(p.detach() for p in trainable_parameters(model))

    def f(*params: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(wrapper, dict(zip(names, params)), (), strict=False)

    outputs, vjp_fn = torch.func.vjp(f, *primals)
    out = outputs.detach().requires_grad_(True)
    out_grad = torch.autograd.grad(output_loss(out, batch), out, create_graph=True)[0]

    def operator(vector: torch.Tensor) -> torch.Tensor:
        tangents = tuple(unflatten(vector.to(primals[0].device, primals[0].dtype), primals))
        _, jv = torch.func.jvp(f, primals, tangents)
        if not out_grad.requires_grad:  # loss linear in the outputs
            return torch.zeros_like(vector)
        hjv = torch.autograd.grad(out_grad, out, jv, retain_graph=True)[0]
        return flatten([g.detach() for g in vjp_fn(hjv)])

    return operator, sum(p.numel() for p in primals)


def gauss_newton_top_eigenvalue(model: nn.Module, outputs_fn: Callable[[nn.Module, Any], torch.Tensor],
                                output_loss: Callable[[torch.Tensor, Any], torch.Tensor], batch: Any,
                                iters: int = 100, tol: float = 1e-4, generator: torch.Generator | None = None) -> float:
    """Top eigenvalue of the (PSD) Gauss–Newton matrix by power iteration; ``outputs_fn(model, batch)``
    gives the network outputs, ``output_loss(outputs, batch)`` the scalar loss on them."""
    operator, dim = gauss_newton_operator(model, outputs_fn, output_loss, batch)
    return power_iteration(operator, dim, iters, tol, generator)
