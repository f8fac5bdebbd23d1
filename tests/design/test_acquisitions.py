"""Acquisitions on posteriors with known answers: information gain, batch rules against brute
force, and the simple baselines."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from plasticlab.design.acquisitions import BATCH_RULES, build_acquisition, information_gain, joint_information, top_available
from plasticlab.design.models import Posterior, sample_posterior


def independent(mean, std, noise=0.01, samples=400, seed=0) -> Posterior:
    """Independent Gaussian candidates with an exact (diagonal) covariance."""
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    draws = mean + std * np.random.default_rng(seed).standard_normal((samples, len(mean)))
    cov = np.diag(std**2)
    return Posterior(mean, std, draws, noise, lambda columns: cov[:, np.asarray(columns)])


def test_information_gain_of_independent_candidates_has_closed_form():
    std, noise = np.array([0.0, 0.5, 1.0, 2.0]), 0.1
    post = independent(np.zeros(4), std, noise)
    sets = np.array([[0, 1], [0, 2], [1, 2], [0, 1]])
    frequency = np.array([3, 3, 2, 0]) / 4
    var = std**2
    expected = 0.5 * frequency * np.log((var + noise) ** 2 / (noise * (2 * var + noise)))
    np.testing.assert_allclose(information_gain(post, sets), expected, rtol=1e-10, atol=1e-12)
    assert information_gain(post, sets)[0] == pytest.approx(0.0, abs=1e-12)  # known outcome: no gain
    assert information_gain(post, sets)[3] == 0.0  # never in an output set, uncorrelated: no gain


def test_information_gain_flows_through_correlation():
    cov = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
    post = Posterior(np.zeros(3), np.ones(3), np.zeros((2, 3)), 0.1, lambda c: cov[:, np.asarray(c)])
    gain = information_gain(post, np.array([[0]]))
    assert gain[0] > gain[1] > 0.5 and gain[2] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name", ["discobax", "topk_bax"])
def test_the_only_uncertain_member_of_the_top_set_gains_most(name):
    # 0, 1 are known to be good; 2 is probably good but uncertain; 3 is equally uncertain but poor
    post = independent([5.0, 4.9, 4.5, 0.0, 0.0, -1.0], [0.01, 0.01, 1.0, 1.0, 0.01, 0.01], samples=64)
    acquisition = build_acquisition(name, {"size": 3, "noise": "additive", "scale": 0.3, "draws": 16, "samples": 64})
    gain = acquisition.score(post, np.random.default_rng(0))
    assert gain.argmax() == 2 and gain[2] > 10 * max(gain[3], 1e-6)
    assert gain[0] < 1e-3 and gain[1] < 1e-3
    available = np.array([False, True, True, True, True, True])
    assert acquisition.select(post, available, 2, np.random.default_rng(0))[0] == 2


def test_discobax_output_sets_are_subset_select_on_each_posterior_sample():
    draws = np.random.default_rng(0).normal(size=(6, 30))
    disco = build_acquisition("discobax", {"size": 4, "noise": "additive", "scale": 0.0, "draws": 2, "samples": 5})
    sets = disco.output_sets(sample_posterior(draws, 0.01), np.random.default_rng(1))
    assert sets.shape == (5, 4)  # only the first `samples` draws are used
    np.testing.assert_array_equal(sets, np.argsort(-draws[:5], axis=1)[:, :4])


def test_simple_baselines_do_what_they_say():
    post = independent([0.0, 1.0, 2.0, 3.0, 0.5], [2.0, 0.1, 0.1, 0.1, 1.5], samples=8)
    available = np.array([True, True, True, False, True])
    rng = np.random.default_rng(0)
    assert build_acquisition({"name": "ucb", "beta": 2.0}).select(post, available, 2, rng).tolist() == [0, 4]  # 4, 3.5
    assert build_acquisition({"name": "ucb", "beta": 0.0}).select(post, available, 2, rng).tolist() == [2, 1]
    assert build_acquisition("max_variance").select(post, available, 1, rng).tolist() == [0]
    picks = build_acquisition("random").select(None, available, 4, rng)
    assert sorted(picks) == [0, 1, 2, 4]
    thompson = build_acquisition("thompson").select(post, available, 3, rng)
    assert len(set(thompson)) == 3 and 3 not in thompson
    assert thompson[0] == np.where(available, post.samples[0], -np.inf).argmax()


def test_top_available_breaks_ties_by_index_and_refuses_too_large_batches():
    assert top_available(np.array([1.0, 2.0, 2.0, 0.0]), np.ones(4, bool), 2).tolist() == [1, 2]
    with pytest.raises(ValueError, match="remaining"):
        top_available(np.zeros(3), np.array([True, False, False]), 2)
    with pytest.raises(KeyError, match="nosuch"):
        build_acquisition("nosuch")
    with pytest.raises(ValueError, match="thompson"):
        build_acquisition({"name": "thompson", "beta": 1.0})


def _exact(cov: np.ndarray, noise: float) -> Posterior:
    return Posterior(np.zeros(len(cov)), np.sqrt(np.diag(cov)), np.zeros((2, len(cov))), noise,
                     lambda columns: cov[:, np.asarray(columns)])


def _joint_eig_brute_force(cov: np.ndarray, noise: float, sets: np.ndarray, batch: tuple[int, ...]) -> float:
    """I(y_B; output) = ½ log det(Σ_BB + σ²I) − mean_j ½ log det(Σ_BB|S_j + σ²I), by explicit Schur complements."""
    b = list(batch)
    prior = np.linalg.slogdet(cov[np.ix_(b, b)] + noise * np.eye(len(b)))[1]
    posterior = []
    for s in sets:
        s = list(s)
        conditional = cov[np.ix_(b, b)] - cov[np.ix_(b, s)] @ np.linalg.solve(
            cov[np.ix_(s, s)] + noise * np.eye(len(s)), cov[np.ix_(s, b)])
        posterior.append(np.linalg.slogdet(conditional + noise * np.eye(len(b)))[1])
    return 0.5 * (prior - np.mean(posterior))


@pytest.mark.parametrize("seed", range(5))
def test_greedy_batch_matches_the_brute_force_joint_information(seed):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(7, 2))
    cov = 1.5 * np.exp(-0.5 * ((features[:, None] - features[None]) ** 2).sum(-1)) + 0.2 * np.diag(rng.random(7))
    noise = 0.05
    post, sets = _exact(cov, noise), np.array([rng.choice(7, 2, replace=False) for _ in range(4)])
    available = np.ones(7, bool)
    available[rng.integers(7)] = False
    for batch in (1, 2, 3):
        picks = BATCH_RULES["greedy"](post, sets, available, batch)
        assert len(set(picks)) == batch and available[picks].all()
        # the chain rule: the sum of greedy's conditional gains is the joint information of its set
        assert joint_information(post, sets, picks) == pytest.approx(_joint_eig_brute_force(cov, noise, sets, tuple(picks)))
        best = max(_joint_eig_brute_force(cov, noise, sets, c) for c in combinations(np.flatnonzero(available), batch))
        got = _joint_eig_brute_force(cov, noise, sets, tuple(picks))
        assert (1 - 1 / np.e) * best - 1e-12 <= got <= best + 1e-12
        assert got >= 0.9 * best  # near-optimal on these instances
    top = BATCH_RULES["top"](post, sets, available, 1)
    np.testing.assert_array_equal(BATCH_RULES["greedy"](post, sets, available, 1), top)  # B = 1: the same rule


def test_greedy_batch_spreads_over_peaks_where_top_eig_collapses_onto_one():
    # two independent peaks of four near-copies each (within-peak correlation 0.95); the output sets
    # always hold one member of each peak, peak A's a little more uncertain, so it has the higher EIG.
    block = lambda var: var * (0.95 * np.ones((4, 4)) + 0.05 * np.eye(4))
    cov = np.zeros((8, 8))
    cov[:4, :4], cov[4:, 4:] = block(1.2), block(1.0)
    post, sets = _exact(cov, 0.01), np.array([[0, 4], [1, 5], [2, 6], [3, 7]])
    available = np.ones(8, bool)
    top = BATCH_RULES["top"](post, sets, available, 2)
    greedy = BATCH_RULES["greedy"](post, sets, available, 2)
    assert (top < 4).all()  # both picks on peak A: the second adds almost nothing
    assert sorted(greedy // 4) == [0, 1]  # one pick on each peak
    assert joint_information(post, sets, greedy) > 1.5 * joint_information(post, sets, top)


def test_bax_methods_use_the_configured_batch_rule():
    post = _exact(np.eye(4), 0.01)
    with pytest.raises(KeyError, match="diverse"):
        build_acquisition({"name": "discobax", "batch": "diverse"})
    for name in ("discobax", "topk_bax"):
        assert build_acquisition({"name": name, "batch": "top"}).batch is BATCH_RULES["top"]
        assert build_acquisition(name).batch is BATCH_RULES["greedy"]
    with pytest.raises(RuntimeError, match="prepare"):  # correlated η needs the candidates' features
        build_acquisition({"name": "discobax", "correlation": {"kernel": "rbf", "lengthscale": 1.0}}).output_sets(
            post, np.random.default_rng(0))
