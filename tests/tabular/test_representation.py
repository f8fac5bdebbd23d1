"""The support and atom-count rule of the dcfp study against the bounds it is derived from, and
merged models against the originals."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.tabular import build_mrp, categorical_dp, dcfp, empirical_model, merge_duplicates, quantile_dp, true_model
from plasticlab.tabular.distances import wasserstein1
from plasticlab.tabular.projections import atoms_between
from plasticlab.tabular.representation import (atoms_for, atoms_label, check_atoms, minimax_sampling_scale, paper_support,
                                               representation_error_bound, sqrt_samples_atoms)


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("reward_range", [1.0, 3.0])
def test_sqrt_samples_rule_is_the_fewest_atoms_within_the_sampling_scale(gamma, reward_range):
    support = paper_support((0.0, reward_range), gamma)
    assert support == pytest.approx((0.0, reward_range / (1 - gamma)))
    for scale in (1.0, 4.0):
        for n in (1, 10, 30, 100, 1000, 10_000):
            m = sqrt_samples_atoms(n, gamma, scale)
            target = minimax_sampling_scale(n, gamma, reward_range) / (2 * scale)
            assert representation_error_bound(support, m, gamma) <= target * (1 + 1e-9)
            assert m == 2 or representation_error_bound(support, m - 1, gamma) > target  # no smaller m will do
    assert sqrt_samples_atoms(1000, 0.9, 4.0) == 401 and sqrt_samples_atoms(10, 0.9, 4.0) == 41  # 1 + ⌈4·√(N/0.1)⌉
    assert sqrt_samples_atoms(10_000, 0.99, 4.0, max_atoms=2001) == 2001


@pytest.mark.parametrize("gamma", [0.5, 0.8, 0.9])
def test_categorical_fixed_point_is_within_the_representation_bound_and_shrinks_with_the_spacing(gamma):
    """A deterministic cycle has point-mass returns at V(x): the W1 error of the categorical fixed
    point of the true model is exact, below Δ/(2(1 − γ)), and proportional to Δ."""
    mrp = build_mrp({"name": "chain", "states": 3, "forward": 1.0}, gamma)
    support = paper_support(mrp.reward_bounds(), gamma)
    errors = {}
    for m in (11, 21, 51, 101):
        atoms = atoms_between(*support, m)
        probs = dcfp(true_model(mrp), atoms)
        errors[m] = max(wasserstein1(atoms, p, [v], [1.0]) for p, v in zip(probs, mrp.values()))
        assert 0 < errors[m] <= representation_error_bound(support, m, gamma)
    assert errors[101] / errors[11] == pytest.approx(10 / 100, rel=0.3)  # ∝ Δ = width/(m − 1)


def test_atom_specs_resolve_label_and_fail_clearly():
    rule = {"rule": "sqrt_samples", "scale": 2.0}
    assert atoms_for(15, 1000, 0.9) == 15 and atoms_for(rule, 100, 0.75) == 1 + 40
    assert atoms_label(15) == "15" and atoms_label(rule) == "sqrt_samples(scale=2.0)"
    check_atoms(rule)
    with pytest.raises(KeyError, match="cube_root"):
        check_atoms({"rule": "cube_root"})
    with pytest.raises(ValueError, match="width"):
        check_atoms({"rule": "sqrt_samples", "width": 3})
    with pytest.raises(ValueError, match="at least 2"):
        check_atoms(1)


def test_merged_model_is_the_same_model():
    mrp = build_mrp({"name": "random", "states": 4, "concentration": 0.5, "env_seed": 1}, 0.9, {"name": "two_point", "scale": 0.3})
    model = empirical_model(mrp, 200, np.random.default_rng(0))
    merged = merge_duplicates(model)
    assert merged.rewards.shape[1] <= 2 * 4 < model.rewards.shape[1]  # at most (noise values × successors) pairs
    np.testing.assert_allclose(merged.weights.sum(axis=1), 1.0)
    atoms = atoms_between(*paper_support(mrp.reward_bounds(), 0.9), 31)
    np.testing.assert_allclose(dcfp(merged, atoms), dcfp(model, atoms), atol=1e-12)
    np.testing.assert_allclose(categorical_dp(merged, atoms, tol=1e-12)[0], categorical_dp(model, atoms, tol=1e-12)[0], atol=1e-10)
    np.testing.assert_allclose(quantile_dp(merged, 8, tol=1e-12)[0], quantile_dp(model, 8, tol=1e-12)[0], atol=1e-9)
