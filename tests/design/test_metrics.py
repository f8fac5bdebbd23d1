"""Per-cycle metrics on hand-made acquisition orders."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.design import metrics


def test_recall_diversity_and_overall_per_cycle():
    outcome = np.array([9.0, 8.0, 7.0, 6.0, 0.0, 0.0, 0.0, 0.0])
    labels = np.array([0, 0, 1, 2, 0, 1, 2, 3])
    top = metrics.top_indices(outcome, 4)
    assert top.tolist() == [0, 1, 2, 3]
    order = np.array([5, 0, 1, 4, 2, 6])  # batch 2: cycles see {5, 0}, {+1, 4}, {+2, 6}
    recall = metrics.top_k_recall(order, top, 8, 2, 3)
    diversity = metrics.diversity(order, top, labels, 2, 3)
    np.testing.assert_allclose(recall, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(diversity, [1 / 3, 1 / 3, 2 / 3])  # top clusters {0, 1, 2}; 0 then 1 hit
    assert np.sqrt(recall * diversity)[-1] == pytest.approx(np.sqrt(0.5))


def test_expected_max_effect_is_the_running_best_mean():
    h = np.array([[1.0, 3.0, -1.0, 2.0], [4.0, 0.0, -2.0, 1.0]])
    np.testing.assert_allclose(metrics.expected_max_effect(np.array([2, 3, 1, 0]), h, 1, 4),
                               [0.0, 1.5, 2.0, 3.5])


def test_clusters_recover_separated_groups_and_shrink_for_tiny_sets():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0]])
    features = np.repeat(centres, 50, axis=0) + 0.1 * rng.standard_normal((150, 3))
    labels = metrics.cluster_labels(features, components=3, pca_components=20)
    assert len(set(labels)) == 3 and all(len(set(labels[i * 50:(i + 1) * 50])) == 1 for i in range(3))
    assert len(set(metrics.cluster_labels(features[:25], components=20))) <= 2  # ≤ one per 10 candidates
