"""The paper's reward formula, the InfoNCE loss and the reward scores against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from plasticlab.rewards import binary_reward, classification_scores, goal_probabilities, info_nce, roc_auc


def unit(*rows: list[float]) -> torch.Tensor:
    return F.normalize(torch.tensor(rows, dtype=torch.float64), dim=-1)


def test_goal_probability_is_the_softmax_over_goal_and_negatives_in_closed_form():
    image = unit([1.0, 0.0])
    goals = unit([1.0, 1.0], [0.0, 1.0])  # cosines with the image: 1/√2 and 0
    negatives = unit([-1.0, 0.0])  # cosine −1
    s = 10.0
    c = [1 / math.sqrt(2), 0.0, -1.0]
    p = goal_probabilities(image, goals, negatives, s).numpy()[0]
    denominator = sum(math.exp(s * x) for x in c)  # other goals are negatives too
    assert p == pytest.approx([math.exp(s * c[0]) / denominator, math.exp(s * c[1]) / denominator])
    alone = goal_probabilities(image, goals, negatives, s, other_goals_as_negatives=False).numpy()[0]
    assert alone == pytest.approx([math.exp(s * c[0]) / (math.exp(s * c[0]) + math.exp(-s)),
                                   1.0 / (1.0 + math.exp(-s))])
    assert list(binary_reward(p, 0.5)) == [1.0, 0.0]
    assert list(binary_reward(np.array([0.5, 0.4999]), 0.5)) == [1.0, 0.0]  # p ≥ β, inclusive


def test_info_nce_matches_an_explicit_cross_entropy_loop():
    generator = torch.Generator().manual_seed(0)
    image = F.normalize(torch.randn(5, 3, generator=generator, dtype=torch.float64), dim=-1)
    text = F.normalize(torch.randn(5, 3, generator=generator, dtype=torch.float64), dim=-1)
    s = 7.0
    total = 0.0
    for i in range(5):
        row = [s * float(image[i] @ text[j]) for j in range(5)]
        column = [s * float(image[j] @ text[i]) for j in range(5)]
        total += -row[i] + math.log(sum(math.exp(v) for v in row))
        total += -column[i] + math.log(sum(math.exp(v) for v in column))
    assert float(info_nce(image, text, s)) == pytest.approx(total / 10, rel=1e-12)


def test_info_nce_known_values():
    n = 6
    same = torch.ones(n, 4, dtype=torch.float64) / 2.0  # every pair equally similar: chance
    assert float(info_nce(same, same, 10.0)) == pytest.approx(math.log(n))
    aligned = torch.eye(n, dtype=torch.float64)  # orthogonal, matched pairs
    assert float(info_nce(aligned, aligned, 100.0)) < 1e-40
    assert float(info_nce(aligned, aligned, 1.0)) == pytest.approx(-1 + math.log(math.e + n - 1))


def test_classification_scores_and_roc_auc():
    truth = np.array([1, 1, 1, 0, 0, 0, 0], bool)
    predicted = np.array([1, 1, 0, 1, 0, 0, 0], bool)
    scores = classification_scores(truth, predicted)
    assert scores == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "accuracy": 5 / 7})
    assert classification_scores(truth, np.zeros(7, bool))["precision"] == 1.0  # no reward given, none false
    p = np.array([0.9, 0.4, 0.4, 0.4, 0.1, 0.8, 0.2])
    assert roc_auc(truth, p) == pytest.approx(roc_auc_score(truth, p))
    assert roc_auc(truth, truth.astype(float)) == 1.0
    with pytest.raises(ValueError, match="both"):
        roc_auc(np.ones(3, bool), np.ones(3))
