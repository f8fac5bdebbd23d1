"""Task streams: each changes exactly what its name says, reproducibly from the seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plasticlab.data import load_dataset
from plasticlab.supervised.streams import build_stream


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_permuted_inputs_keep_labels_and_permute_pixels_consistently(digits):
    tasks, outputs = build_stream("permuted", digits, 3, seed=0)
    assert outputs == 10
    base = torch.from_numpy(digits.x_train)
    assert torch.equal(tasks[0].x, base)
    for task in tasks[1:]:
        assert torch.equal(task.y, tasks[0].y)
        # the same permutation of columns for train and test: each permuted column is an original column
        columns = [int(torch.nonzero((base == task.x[:, [j]]).all(dim=0))[0]) for j in range(0, 64, 9)]
        test_x = task.eval_sets["test"][0]
        for j, source in zip(range(0, 64, 9), columns):
            assert torch.equal(test_x[:, j], torch.from_numpy(digits.x_test)[:, source])
    assert not torch.equal(tasks[1].x, tasks[2].x)


def test_random_labels_relabel_one_fixed_subset(digits):
    tasks, _ = build_stream("random_labels", digits, 4, seed=1, options={"subset": 100})
    assert all(torch.equal(t.x, tasks[0].x) and len(t.y) == 100 for t in tasks)
    agreement = [float((a.y == b.y).float().mean()) for a, b in zip(tasks, tasks[1:])]
    assert max(agreement) < 0.3  # fresh labels each task (chance agreement 0.1)


def test_label_shuffle_is_a_bijection_of_classes(digits):
    tasks, _ = build_stream("label_shuffle", digits, 2, seed=2)
    pairs = set(zip(tasks[0].y.tolist(), tasks[1].y.tolist()))
    assert len(pairs) == 10 and len({b for _, b in pairs}) == 10


def test_class_incremental_adds_classes(digits):
    tasks, _ = build_stream("class_incremental", digits, 5, seed=3, options={"classes_per_task": 2})
    seen = [set(t.y.tolist()) for t in tasks]
    assert [len(s) for s in seen] == [2, 4, 6, 8, 10]
    assert all(a < b for a, b in zip(seen, seen[1:]))
    assert set(tasks[2].eval_sets["test"][1].tolist()) == seen[2]


def test_growing_targets_scale_geometrically_with_mse_loss(digits):
    tasks, outputs = build_stream("growing_targets", digits, 3, seed=4, options={"outputs": 5, "growth": 3.0})
    assert outputs == 5 and all(t.loss == "mse" for t in tasks)
    torch.testing.assert_close(tasks[2].y, 9.0 * tasks[0].y)
    assert tasks[0].y.std() > 0.1


def test_same_seed_same_stream_and_unknown_name(digits):
    a, _ = build_stream("permuted", digits, 2, seed=5)
    b, _ = build_stream("permuted", digits, 2, seed=5)
    assert torch.equal(a[1].x, b[1].x)
    with pytest.raises(KeyError, match="available"):
        build_stream("rotating", digits, 2, seed=0)
    assert np.isfinite(a[1].x.numpy()).all()
