"""Direct categorical fixed-point computation (DCFP; Rowland et al. 2024, Sec. 4).

In CDF coordinates F(x)ᵢ = P_η(x)(G ≤ zᵢ), i = 0..K−2 (the last is always 1), the projected
operator Π_C T of a model is affine — the stochastic categorical CDF Bellman equation:

    F(x) = Σₙ wₓₙ (C_{rₓₙ} F(x′ₓₙ) + d_{rₓₙ}),   C_r[i, j] = g_i(r + γz_j) − g_i(r + γz_{j+1}),
    d_r[i] = g_i(r + γz_{K−1}),   g_i(y) = clip((z_{i+1} − y)/Δ, 0, 1) = mass Π_C δ_y puts on atoms ≤ i.

So the categorical fixed point is one sparse linear solve (I − M) F = d instead of many DP sweeps.
Each column of C_r has at most two non-zeros (γΔ < Δ), so M has ≤ 2·S·N·(K−1) entries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from plasticlab.tabular.model import Model


def _g(i: np.ndarray, y: np.ndarray, atoms: np.ndarray) -> np.ndarray:
    spacing = atoms[1] - atoms[0]
    return np.clip((atoms[0] + (i + 1) * spacing - y) / spacing, 0.0, 1.0)


def cdf_system(model: Model, atoms: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """The affine map F ↦ M F + d of Π_C T in CDF coordinates, F stacked state-major: ``(S·(K−1),)``."""
    s, k = model.n_states, len(atoms)
    spacing = atoms[1] - atoms[0]
    y = model.rewards[:, :, None] + model.gamma * atoms  # (S, N, K)
    w = model.weights[:, :, None, None]
    lower = np.floor((y[:, :, :-1] - atoms[0]) / spacing).astype(np.int64)  # (S, N, K−1): rows l, l+1 only
    rows = lower[..., None] + np.array([0, 1])  # (S, N, K−1, 2)
    data = w * (_g(rows, y[:, :, :-1, None], atoms) - _g(rows, y[:, :, 1:, None], atoms))
    valid = (rows >= 0) & (rows <= k - 2) & (data != 0.0)
    state = np.broadcast_to(np.arange(s)[:, None, None, None], rows.shape)
    source = np.broadcast_to(model.next_states[:, :, None, None], rows.shape)
    column = np.broadcast_to(np.arange(k - 1)[None, None, :, None], rows.shape)
    matrix = sp.coo_matrix((data[valid], ((state * (k - 1) + rows)[valid], (source * (k - 1) + column)[valid])),
                           shape=(s * (k - 1), s * (k - 1))).tocsr()
    offset = (model.weights[:, :, None] * _g(np.arange(k - 1), y[:, :, -1:], atoms)).sum(axis=1)  # (S, K−1)
    return matrix, offset.ravel()


def cdf_to_probs(cdf: np.ndarray) -> np.ndarray:
    """(S, K−1) CDF values → (S, K) probabilities."""
    full = np.concatenate([cdf, np.ones((cdf.shape[0], 1))], axis=1)
    return np.diff(full, axis=1, prepend=0.0)


def dcfp(model: Model, atoms: np.ndarray) -> np.ndarray:
    """The categorical fixed point of ``model`` by one sparse solve. Returns probabilities ``(S, K)``."""
    matrix, offset = cdf_system(model, atoms)
    system = (sp.identity(matrix.shape[0], format="csc") - matrix.tocsc()).tocsc()
    cdf = spsolve(system, offset).reshape(model.n_states, len(atoms) - 1)
    return cdf_to_probs(cdf)


@dataclass(frozen=True)
class SolveTiming:
    """DCFP's one solve against categorical DP iterated to ``tol`` on the same model and atoms."""

    dcfp_seconds: float
    dp_seconds: float
    iterations: int
    cdf_gap: float  # max |F_dcfp − F_dp| over states and atoms: both must find the same fixed point


def time_dcfp_vs_dp(model: Model, atoms: np.ndarray, tol: float) -> SolveTiming:
    """Wall time of both ways to the categorical fixed point (the study's scaling runs and the benchmark)."""
    from plasticlab.tabular.categorical_dp import categorical_dp

    start = time.perf_counter()
    direct = dcfp(model, atoms)
    dcfp_seconds = time.perf_counter() - start
    start = time.perf_counter()
    iterated, iterations = categorical_dp(model, atoms, tol=tol)
    dp_seconds = time.perf_counter() - start
    gap = float(np.abs(np.cumsum(direct - iterated, axis=1)).max())
    return SolveTiming(dcfp_seconds, dp_seconds, int(iterations), gap)
