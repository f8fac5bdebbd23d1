"""Figures are written atomically, carry provenance, and show the data they are given."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from plasticlab.analysis import bars_at_x, line_with_bands, read_png_provenance


def _table(shift: float) -> pd.DataFrame:
    rows = []
    for variant, base in (("warm", 0.6), ("fresh", 0.7)):
        for x in range(1, 5):
            mean = base + shift + 0.05 * x
            rows.append({"variant": variant, "x": x, "metric": "acc", "mean": mean, "ci_low": mean - 0.02,
                         "ci_high": mean + 0.02, "n_seeds": 3})
    return pd.DataFrame(rows)


def test_line_and_bar_figures_with_provenance(tmp_path):
    paths = [
        line_with_bands(_table(0.0), "acc", tmp_path / "a" / "line.png", xlabel="x", ylabel="y", provenance={"seed": 1}),
        bars_at_x(_table(0.0), "acc", tmp_path / "bar.png", ylabel="y", provenance={"seed": 2}),
    ]
    for path, seed in zip(paths, (1, 2)):
        assert path.stat().st_size > 5_000
        assert read_png_provenance(path) == {"seed": seed}
    assert sorted(p.name for p in (tmp_path).iterdir()) == ["a", "bar.png"]  # no temporary files left


def test_different_data_draws_a_different_picture(tmp_path):
    a = line_with_bands(_table(0.0), "acc", tmp_path / "a.png", xlabel="x", ylabel="y")
    b = line_with_bands(_table(0.2), "acc", tmp_path / "b.png", xlabel="x", ylabel="y")
    pixels_a = np.asarray(Image.open(a).convert("L"), dtype=float)
    pixels_b = np.asarray(Image.open(b).convert("L"), dtype=float)
    assert pixels_a.shape != pixels_b.shape or np.abs(pixels_a - pixels_b).mean() > 0.1
