"""Cost of the top Hessian eigenvalue in gradient evaluations of the same batch.

Goal (issue: plasticity metrics): ≤ 30 gradient-equivalents for 1e-3 relative accuracy. Measured
side by side in one process on one machine: one gradient evaluation (forward + backward) of the
batch, then Lanczos and power iteration with growing budgets, against a reference from Lanczos
with a large basis. Run: python benchmarks/curvature_cost.py [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from plasticlab.data import load_dataset
from plasticlab.metrics.curvature import HessianOperator, lanczos_top, power_iteration
from plasticlab.nets import make_mlp


def timed(fn, repeats: int = 1):
    start = time.perf_counter()
    for _ in range(repeats):
        value = fn()
    return value, (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--train-steps", type=int, default=300, help="train first: curvature at init is atypical")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = load_dataset("digits")
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    net = make_mlp(data.input_shape, [128, 128], 10)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for step in range(args.train_steps):
        index = torch.randint(0, len(x), (64,))
        loss = F.cross_entropy(net(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    batch = (x[: args.batch], y[: args.batch])

    def loss_fn(model, batch):
        return F.cross_entropy(model(batch[0]), batch[1])

    params = list(net.parameters())
    _, grad_seconds = timed(lambda: torch.autograd.grad(loss_fn(net, batch), params), repeats=50)
    print(f"network: {sum(p.numel() for p in params):,} parameters, batch {args.batch}, {args.threads} threads")
    print(f"one gradient evaluation: {grad_seconds * 1e3:.2f} ms")

    operator = HessianOperator(net, loss_fn, batch)
    reference = lanczos_top(operator, operator.dim, k=150, generator=torch.Generator().manual_seed(0))
    print(f"reference top eigenvalue (Lanczos, k=150): {reference:.6f}")
    print(f"{'method':<10} {'budget':>6} {'HVPs':>5} {'rel. error':>11} {'seconds':>9} {'grad-equiv.':>12}")
    for k in (5, 10, 15, 20, 30):
        def run(k=k):
            op = HessianOperator(net, loss_fn, batch)
            value = lanczos_top(op, op.dim, k=k, generator=torch.Generator().manual_seed(1))
            return value, op.calls
        (value, calls), seconds = timed(run)
        error = abs(value - reference) / abs(reference)
        print(f"{'lanczos':<10} {k:>6} {calls:>5} {error:>11.2e} {seconds:>9.4f} {seconds / grad_seconds:>12.1f}")
    for iters in (10, 20, 50, 100):
        def run(iters=iters):
            op = HessianOperator(net, loss_fn, batch)
            value = power_iteration(op, op.dim, iters=iters, tol=0.0, generator=torch.Generator().manual_seed(1))
            return value, op.calls
        (value, calls), seconds = timed(run)
        error = abs(value - reference) / abs(reference)
        print(f"{'power':<10} {iters:>6} {calls:>5} {error:>11.2e} {seconds:>9.4f} {seconds / grad_seconds:>12.1f}")


if __name__ == "__main__":
    main()
