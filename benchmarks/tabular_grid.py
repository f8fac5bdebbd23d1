"""Tabular benchmarks (issue 5), measured side by side in one process.

1. The vectorised TD/QTD grid (``plasticlab.tabular.run_grid``: one array op per update for all
   seeds × step sizes × states) against a straightforward Python loop per seed and step size (one
   transition and update per state), same MRP, grid and updates; goal ≥ 50× faster. Also against a
   loop per seed and step size that already vectorises each synchronous update over states.
2. DCFP's sparse linear solve against categorical DP iterated until its CDFs move less than the
   tolerance, across numbers of states and atoms; prints the time ratio and the CDF gap between them.

    python benchmarks/tabular_grid.py            # default sizes, ~1–2 min on 2 cores
    python benchmarks/tabular_grid.py --quick    # smaller, for a smoke test
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from plasticlab.tabular import build_mrp, empirical_model, learners_for, qtd, run_grid, td
from plasticlab.tabular.dcfp import time_dcfp_vs_dp
from plasticlab.tabular.methods import support
from plasticlab.tabular.projections import atoms_between


def loop_grid(mrp, quantiles: list[int], step_sizes: np.ndarray, n_seeds: int, updates: int,
              per_transition: bool = True) -> dict[str, np.ndarray]:
    """The reference: one seed and one step size at a time. ``per_transition``: the textbook loop,
    one sampled transition and update per state (QTD's m quantiles still a NumPy vector); else each
    synchronous update is done on per-state arrays (a loop that already vectorises over states)."""
    truth = mrp.values()
    errors = {name: np.empty((n_seeds, len(step_sizes))) for name in ["td", *(f"qtd_m{m}" for m in quantiles)]}
    cdf = np.cumsum(mrp.transitions, axis=1)
    for seed in range(n_seeds):
        for a, alpha in enumerate(step_sizes):
            rng = np.random.default_rng([seed, a])
            values = np.zeros(mrp.n_states)
            thetas = {m: np.zeros((mrp.n_states, m)) for m in quantiles}
            for _ in range(updates):
                if per_transition:
                    for x in range(mrp.n_states):
                        nxt = min(int(np.searchsorted(cdf[x], rng.random(), side="right")), mrp.n_states - 1)
                        r = mrp.reward_mean[x] + mrp.noise_scale * rng.standard_normal()
                        values[x] += alpha * (r + mrp.gamma * values[nxt] - values[x])
                        for m in quantiles:
                            thetas[m][x] = qtd.update(thetas[m][x], r, thetas[m][nxt], alpha, mrp.gamma)
                    continue
                rewards, next_states = mrp.sample(rng, ())
                values = td.update(values, rewards, values[next_states], alpha, mrp.gamma)
                for m in quantiles:
                    thetas[m] = qtd.update(thetas[m], rewards, thetas[m][next_states], alpha, mrp.gamma)
            errors["td"][seed, a] = ((values - truth) ** 2).mean()
            for m in quantiles:
                errors[f"qtd_m{m}"][seed, a] = ((thetas[m].mean(axis=1) - truth) ** 2).mean()
    return errors


def grid_benchmark(seeds: int, n_alphas: int, updates: int, quantiles: list[int]) -> None:
    mrp = build_mrp({"name": "random", "states": 10, "concentration": 1.0}, 0.9, {"name": "gaussian", "scale": 1.0})
    alphas = np.geomspace(0.01, 1.0, n_alphas)
    start = time.perf_counter()
    fast = run_grid(mrp, learners_for(quantiles), alphas, seeds, [updates], np.random.default_rng(0))
    vectorised = time.perf_counter() - start
    start = time.perf_counter()
    slow = loop_grid(mrp, quantiles, alphas, seeds, updates, per_transition=True)
    looped = time.perf_counter() - start
    start = time.perf_counter()
    loop_grid(mrp, quantiles, alphas, seeds, updates, per_transition=False)
    state_vectorised = time.perf_counter() - start
    print(f"TD+QTD(m={quantiles}) grid: {seeds} seeds × {n_alphas} step sizes × 10 states × {updates} updates")
    print(f"  vectorised grid           {vectorised:8.3f} s")
    print(f"  per-seed loop             {looped:8.3f} s   speed-up {looped / vectorised:6.1f}×  (goal ≥ 50×)")
    print(f"  per-seed loop, states vectorised {state_vectorised:8.3f} s   speed-up {state_vectorised / vectorised:6.1f}×")
    # same algorithm, independent samples: the mean MSE over seeds agrees up to seed noise
    for name in fast:
        a, b = fast[name][-1].mean(axis=0), slow[name].mean(axis=0)
        print(f"  {name:>8}: best-α MSE vectorised {a.min():.4f}, loop {b.min():.4f}")


def dcfp_benchmark(states: list[int], atoms: list[int], gammas: list[float], samples: int, tol: float) -> None:
    print(f"\nDCFP solve vs categorical DP to tolerance {tol:g} (sup change of CDF), N = {samples} samples/state")
    print(f"{'γ':>5} {'S':>5} {'K':>5} {'DCFP s':>9} {'CDP s':>9} {'iters':>6} {'ratio':>7} {'CDF gap':>9}")
    for gamma in gammas:
        for s in states:
            for k in atoms:
                mrp = build_mrp({"name": "random", "states": s, "concentration": 1.0, "env_seed": s}, gamma)
                model = empirical_model(mrp, samples, np.random.default_rng(s))
                grid = atoms_between(*support(mrp.reward_bounds(), gamma), k)
                t = time_dcfp_vs_dp(model, grid, tol)
                print(f"{gamma:5.2f} {s:5d} {k:5d} {t.dcfp_seconds:9.4f} {t.dp_seconds:9.4f} {t.iterations:6d} "
                      f"{t.dp_seconds / t.dcfp_seconds:7.1f} {t.cdf_gap:9.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        grid_benchmark(seeds=10, n_alphas=5, updates=100, quantiles=[16])
        dcfp_benchmark([10, 30], [15, 51], [0.9], samples=30, tol=1e-8)
    else:
        grid_benchmark(seeds=30, n_alphas=10, updates=300, quantiles=[16])
        dcfp_benchmark([10, 30, 100], [15, 51, 101], [0.9, 0.99], samples=100, tol=1e-8)


if __name__ == "__main__":
    main()
