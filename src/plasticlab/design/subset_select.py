"""SubsetSelect (DiscoBAX, Lyle et al. 2023, Algorithm 1): the set S of k interventions maximising
E_η[max(0, max_{x∈S} h(x, η))], greedily.

h models how an intervention's measured effect f(x) carries over to the phenotype of interest,
through a random η over the candidates:

- ``additive``: h = max(0, f + η), η = scale · z;
- ``multiplicative``: h = max(0, f · b), b(x) ~ Bernoulli(σ(scale · z(x))) independently given z
  (the effect shows up or it does not, more often where the logit z is high);

with z ~ GP(0, k) over the candidates' features (``correlation: {kernel, lengthscale}``), as in
the reference code (``methods/bax_acquisition/bax_sampling*.py``: RBF, ℓ² = 1; its toy default
is multiplicative with logit scale 1.5), or ``correlation: iid`` (z independent per candidate).
Correlation is what makes SubsetSelect diverse: when η moves neighbours together, a neighbour of
the best candidate fails when it fails and is no backup, so the next pick goes to another mode;
with iid η a neighbour is an independent backup and SubsetSelect drifts towards top-k.

The objective is monotone and submodular in S (a max of modular functions, averaged), so greedy is
within 1 − 1/e of the best set. The expectation is a Monte Carlo average over η draws, and the
greedy runs for many posterior samples of f at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy.special import expit

from plasticlab.design.kernels import correlation as kernel_correlation
from plasticlab.design.kernels import joint_normal_factor

_BLOCK = 1 << 22  # elements of one (samples, η draws, candidates) block


def _additive(f: np.ndarray, z: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    return np.maximum(0.0, f + scale * z)


def _multiplicative(f: np.ndarray, z: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    success = rng.random(z.shape) < expit(scale * z)
    return np.maximum(0.0, f * success)


# name -> h(f, z, scale, rng) for latent standard-normal fields z (…, L, N)
TRANSFER: dict[str, Callable[[np.ndarray, np.ndarray, float, np.random.Generator], np.ndarray]] = {
    "additive": _additive, "multiplicative": _multiplicative}


@dataclass(frozen=True)
class NoiseModel:
    """How η is drawn and turned into h. ``correlation`` is ``"iid"`` or ``{kernel, lengthscale}``."""

    name: str
    scale: float
    correlation: str | dict[str, Any] = "iid"

    def __post_init__(self) -> None:
        if self.name not in TRANSFER:
            raise KeyError(f"unknown SubsetSelect noise {self.name!r}; available: {', '.join(sorted(TRANSFER))}")
        if not self.scale >= 0:
            raise ValueError(f"noise scale must be non-negative, got {self.scale}")
        if self.correlation != "iid":
            if not isinstance(self.correlation, dict) or set(self.correlation) != {"kernel", "lengthscale"}:
                raise ValueError(f"noise correlation must be 'iid' or {{kernel, lengthscale}}, got {self.correlation!r}")
            kernel_correlation(self.correlation["kernel"], np.zeros((1, 1)), np.zeros((1, 1)),
                               float(self.correlation["lengthscale"]))  # names the bad kernel or length scale

    def over(self, features: np.ndarray) -> "NoiseField":
        """This noise over fixed candidates (the factor of their kernel matrix is built once)."""
        features = np.asarray(features, dtype=float).reshape(len(features), -1)
        if self.correlation == "iid":
            return NoiseField(self, len(features), None)
        spec = self.correlation
        matrix = kernel_correlation(spec["kernel"], features, features, float(spec["lengthscale"]))
        return NoiseField(self, len(features), joint_normal_factor(matrix))


@dataclass(frozen=True)
class NoiseField:
    """η over N fixed candidates: latent z ~ N(0, K) draws and the transfer h(f, z)."""

    noise: NoiseModel
    size: int
    factor: np.ndarray | None = field(repr=False)  # lower Cholesky factor of K; None: K = I

    def latent(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` draws of z, shape ``(count, N)``."""
        white = rng.standard_normal((count, self.size))
        return white if self.factor is None else white @ self.factor.T

    def h(self, f: np.ndarray, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """h(f, η) for outcomes ``f`` broadcasting against latent draws ``z`` ``(…, L, N)``."""
        return TRANSFER[self.noise.name](f, z, self.noise.scale, rng)


class LatentPool:
    """A fixed pool of latent draws from which each call takes a random subset.

    Drawing a correlated z over N candidates costs O(N²) per draw; a pool of ``size`` draws made
    once per campaign and sampled without replacement per SubsetSelect call keeps the calls nearly
    independent (``size`` ≫ draws per call) at a fraction of the cost.
    """

    def __init__(self, field_: NoiseField, size: int, rng: np.random.Generator) -> None:
        self.field, self.pool = field_, field_.latent(rng, size)

    def latent(self, rng: np.random.Generator, count: int) -> np.ndarray:
        replace = count > len(self.pool)
        return self.pool[rng.choice(len(self.pool), size=count, replace=replace)]

    def h(self, f: np.ndarray, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.field.h(f, z, rng)


def noise_model(name: str, scale: float, correlation: str | dict[str, Any] = "iid") -> NoiseModel:
    return NoiseModel(name, float(scale), correlation)


def set_value(h: np.ndarray, members: np.ndarray) -> np.ndarray:
    """E_η[max(0, max over ``members`` of h)] for h ``(..., L, N)`` and member indices ``(..., k)``."""
    chosen = np.take_along_axis(h, np.asarray(members)[..., None, :], axis=-1)  # (..., L, k)
    return np.maximum(chosen.max(axis=-1), 0.0).mean(axis=-1)


def greedy(h: np.ndarray, size: int) -> np.ndarray:
    """Greedy maximiser of :func:`set_value` for h ``(m, L, N)``: indices ``(m, size)``, in pick order.

    Ties (e.g. once the set's value saturates and nothing adds any more) go to the largest E_η[h]
    alone, then to the lowest index: the filler members are then the next-best candidates, not
    arbitrary low indices (which would otherwise receive information gain downstream)."""
    m, _, n = h.shape
    if not 0 < size <= n:
        raise ValueError(f"subset size {size} must be in 1..{n}")
    best = np.zeros(h.shape[:2])
    taken = np.zeros((m, n), dtype=bool)
    picks = np.empty((m, size), dtype=int)
    rows = np.arange(m)
    alone = h.mean(axis=1)  # (m, N): E_η[h(x)], the tie-breaker
    for step in range(size):
        gains = np.maximum(best[:, :, None], h).mean(axis=1)  # (m, N): value of S ∪ {x}
        gains[taken] = -np.inf
        tied = gains >= gains.max(axis=1, keepdims=True) - 1e-12
        pick = np.where(tied, alone, -np.inf).argmax(axis=1)
        picks[:, step], taken[rows, pick] = pick, True
        best = np.maximum(best, h[rows, :, pick])
    return picks


def subset_select(values: np.ndarray, noise: NoiseField | LatentPool, size: int, draws: int,
                  rng: np.random.Generator) -> np.ndarray:
    """SubsetSelect on each row of ``values`` ``(m, N)`` (posterior samples of f): ``(m, size)`` indices.

    Each sample gets its own η draws ``(draws, N)``; samples are processed in blocks so memory stays
    bounded for tens of thousands of candidates.
    """
    values = np.atleast_2d(values)
    m, n = values.shape
    per_block = max(1, _BLOCK // (draws * n))
    out = []
    for start in range(0, m, per_block):
        block = values[start:start + per_block]
        z = noise.latent(rng, len(block) * draws).reshape(len(block), draws, n)
        out.append(greedy(noise.h(block[:, None, :], z, rng), size))
    return np.concatenate(out, axis=0)
