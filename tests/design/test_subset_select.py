"""SubsetSelect: greedy against brute force on tiny instances."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from plasticlab.design.subset_select import greedy, noise_model, set_value, subset_select


def _brute_force(h: np.ndarray, size: int) -> float:
    return max(set_value(h, np.array(s)) for s in combinations(range(h.shape[-1]), size))


@pytest.mark.parametrize("noise, scale", [("additive", 1.0), ("multiplicative", 0.4)])
def test_greedy_is_within_1_minus_1_over_e_of_brute_force(noise, scale):
    model = noise_model(noise, scale)
    rng = np.random.default_rng(0)
    ratios = []
    for trial in range(30):
        f = rng.normal(size=(1, 8))
        h = model.apply(f[:, None, :], model.draw(rng, (1, 40, 8), scale))
        for size in (2, 3):
            best = _brute_force(h[0], size)
            got = float(set_value(h[0], greedy(h, size)[0]))
            assert got >= (1 - 1 / np.e) * best - 1e-12 and got <= best + 1e-12
            ratios.append(got / best if best > 0 else 1.0)
    assert np.mean(ratios) > 0.97  # usually optimal in practice


def test_greedy_is_optimal_without_noise_and_diversifies_under_noise():
    f = np.array([[0.5, 2.8, 3.0, 1.0, 2.9]])
    # without noise the best alone is optimal; the saturated set is filled by the next best, in order
    assert greedy(f[:, None, :], 3)[0].tolist() == [2, 4, 1]
    # Two perfectly correlated copies of the best (same η) add nothing; an independent second-best does.
    eta = np.random.default_rng(1).normal(0, 1.0, (1, 500, 3))
    eta[..., 1] = eta[..., 0]
    h = np.maximum(0.0, np.array([1.0, 1.0, 0.8])[None, None, :] + eta)
    assert greedy(h, 2)[0].tolist() == [0, 2]
    assert set_value(h[0], np.array([0, 2])) == pytest.approx(_brute_force(h[0], 2))


def test_subset_select_runs_per_sample_and_in_blocks():
    rng = np.random.default_rng(2)
    values = rng.normal(size=(7, 50))
    sets = subset_select(values, noise_model("additive", 0.0), 4, 3, rng)
    assert sets.shape == (7, 4)  # noise-free: each sample's top-4, best first
    np.testing.assert_array_equal(sets, np.argsort(-values, axis=1)[:, :4])


def test_bad_noise_settings_are_errors():
    with pytest.raises(KeyError, match="gumbel"):
        noise_model("gumbel", 1.0)
    with pytest.raises(ValueError, match="probability"):
        noise_model("multiplicative", 1.5)
