"""Data sets: the synthetic formulas, the embedded stand-ins, and the CSV screen loader."""

from __future__ import annotations

import numpy as np
import pytest

from plasticlab.design.data import build_dataset, standardise


def test_reference_synthetic_sets_follow_the_reference_formulas_on_its_grids():
    sine = build_dataset({"name": "sine1d", "size": 65})  # odd size: x = 0 is the middle grid point
    assert sine.features[0, 0] == pytest.approx(-2 * np.pi) and sine.features[32, 0] == pytest.approx(0.0)
    assert sine.outcome[32] == pytest.approx(0.95 + 0.25 * np.cos(0.5))  # sin 0 + 0.95 cos 0 + 0.25 cos(0.5)
    assert sine.top_k == 10 and sine.observation_noise == 0.0  # raw units, noiseless by default
    top = np.sort(build_dataset({"name": "sine1d", "size": 64}).features[:, 0][np.argsort(-build_dataset(
        {"name": "sine1d", "size": 64}).outcome)[:10]])
    assert (top[:5] < -5.4).all() and ((top[5:] > 2.4) & (top[5:] < 3.4)).all()  # two separate top regions
    mog = build_dataset({"name": "mog1d", "size": 201})  # x = 0.5 is grid point 150
    assert mog.outcome[150] == pytest.approx(0.7 / (0.1 * np.sqrt(2 * np.pi)), rel=1e-9)  # the tall bump's peak
    assert mog.outcome[50] == pytest.approx(0.3 / (0.1 * np.sqrt(2 * np.pi)), rel=1e-9)  # the short one's
    grid = build_dataset({"name": "sine2d", "size": 64})
    assert grid.features.shape == (64, 2) and grid.features[0].tolist() == pytest.approx([-np.pi, -np.pi])
    corner = np.array([0.25 * -np.pi + 1.0, 0.1 * -np.pi + 0.02 * -np.pi])  # W x at (−π, −π)
    assert grid.outcome[0] == pytest.approx(np.sin(corner).mean())
    with pytest.raises(ValueError, match="square"):
        build_dataset({"name": "sine2d", "size": 60})


def test_our_multimodal_sets_follow_their_formulas_and_are_reproducible():
    data = build_dataset({"name": "periodic1d", "size": 300, "noise": 0.2})
    x = np.random.default_rng(0).uniform(-10, 10, (300, 1))[:, 0]
    np.testing.assert_allclose(data.outcome, np.sin(x) + 0.5 * np.sin(3 * x))
    np.testing.assert_allclose(data.features[:, 0], x)
    assert data.top_k == 10 and data.features.shape == (300, 1)
    again = build_dataset({"name": "periodic1d", "size": 300, "noise": 0.2})
    np.testing.assert_array_equal(again.outcome, data.outcome)
    two = build_dataset({"name": "periodic2d", "size": 400, "top_k": 5})
    assert two.features.shape == (400, 2) and two.top_k == 5 and two.outcome.max() <= 1.0
    bumps = build_dataset({"name": "bumps1d", "size": 400, "data_seed": 3})
    rng = np.random.default_rng(3)  # centres, heights, widths, then the candidates
    centres, heights, widths = rng.uniform(-8, 8, 5), rng.uniform(0.5, 1, 5), rng.uniform(0.3, 1, 5)
    x = rng.uniform(-10, 10, 400)
    np.testing.assert_allclose(bumps.outcome, (heights * np.exp(-(x[:, None] - centres) ** 2 / (2 * widths**2))).sum(1))
    measured = data.measure(np.random.default_rng(1))
    assert 0.15 < np.std(measured - data.outcome) < 0.25


def test_embedded_sets_are_standardised_with_the_top_fraction():
    digits = build_dataset({"name": "digits"})
    assert digits.size == 1797 and digits.top_k == 18 and digits.features.shape[1] == 64
    assert abs(digits.outcome.mean()) < 1e-9 and digits.outcome.std() == pytest.approx(1.0)
    diabetes = build_dataset({"name": "diabetes", "top_fraction": 0.05})
    assert diabetes.size == 442 and diabetes.top_k == 23


def _write(tmp_path, features: str, targets: str):
    (tmp_path / "f.csv").write_text(features)
    (tmp_path / "t.csv").write_text(targets)
    return {"name": "csv", "features": "f.csv", "targets": "t.csv", "top_k": 1}


def test_csv_screen_joins_by_id_not_by_row_order(tmp_path):
    spec = _write(tmp_path, "id,a,b\ng1,1,0\ng2,2,5\ng3,3,1\nextra,0,0\n", "id,score\ng3,30\ng1,10\ng2,20\n")
    data = build_dataset(spec, tmp_path)
    assert data.ids.tolist() == ["g3", "g1", "g2"]
    np.testing.assert_allclose(data.features, standardise(np.array([[3, 1], [1, 0], [2, 5]])))
    np.testing.assert_allclose(data.outcome, standardise(np.array([30, 10, 20])))


@pytest.mark.parametrize("features, targets, extra, message", [
    ("id,a\ng1,1\ng2,2\n", "id,score\ng1,1\ng9,2\n", {}, "no row"),
    ("id,a\ng1,1\ng1,2\n", "id,score\ng1,1\n", {}, "duplicate"),
    ("id,a\ng1,1\ng2,x\n", "id,score\ng1,1\ng2,2\n", {}, "'a'.*non-numeric.*g2"),
    ("id,a\ng1,1\ng2,2\n", "id,score,other\ng1,1,0\ng2,2,0\n", {}, "outcome_column"),
    ("id,a\ng1,1\ng2,2\n", "id,score\ng1,1\ng2,2\n", {"outcome_column": "effect"}, "effect"),
    ("gene,a\ng1,1\ng2,2\n", "id,score\ng1,1\ng2,2\n", {}, "id column"),
])
def test_csv_screen_errors_name_the_problem(tmp_path, features, targets, extra, message):
    spec = {**_write(tmp_path, features, targets), **extra}
    with pytest.raises((KeyError, ValueError), match=message):
        build_dataset(spec, tmp_path)


def test_missing_file_and_unknown_keys_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere"):
        build_dataset({"name": "csv", "features": "nothere.csv", "targets": "t.csv"}, tmp_path)
    with pytest.raises(KeyError, match="sizes"):
        build_dataset({"name": "sine1d", "sizes": 3})
