"""Acquisitions on posteriors with known answers: information gain, and the simple baselines."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.design.acquisitions import build_acquisition, information_gain, top_available
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
