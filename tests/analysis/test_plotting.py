"""Figures are written atomically, carry provenance, and show the data they are given."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from plasticlab.analysis import bars_at_x, line_with_bands, read_png_provenance, save_figure
from plasticlab.analysis.plotting import PALETTE


def _table(shift: float, variants: tuple[str, ...] = ("warm", "fresh")) -> pd.DataFrame:
    rows = []
    for i, variant in enumerate(variants):
        for x in range(1, 5):
            mean = 0.6 + 0.1 * i + shift * x + 0.05 * x
            rows.append({"variant": variant, "x": x, "metric": "acc", "mean": mean, "ci_low": mean - 0.02,
                         "ci_high": mean + 0.02, "n_seeds": 3})
    return pd.DataFrame(rows)


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=float)


def _differ(a, b) -> bool:
    pa, pb = _pixels(a), _pixels(b)
    return pa.shape != pb.shape or np.abs(pa - pb).mean() > 0.1


def test_figures_are_non_empty_pngs_whose_provenance_round_trips(tmp_path):
    provenance = {"study": "warmstart", "seeds": [0, 1, 2], "config": {"lr": 0.001}}
    paths = [
        line_with_bands(_table(0.0), "acc", tmp_path / "a" / "b" / "line.png", xlabel="x", ylabel="y",
                        provenance=provenance),
        bars_at_x(_table(0.0), "acc", tmp_path / "bar.png", ylabel="y", provenance={"seed": 2}),
    ]
    assert paths[0] == tmp_path / "a" / "b" / "line.png"
    for path, expected in zip(paths, (provenance, {"seed": 2})):
        assert path.stat().st_size > 5_000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert read_png_provenance(path) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "bar.png"]  # no temporary files left


def test_save_figure_overwrites_closes_and_handles_no_provenance(tmp_path):
    path = tmp_path / "fig.png"
    path.write_bytes(b"old")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    save_figure(fig, path, None)
    assert not plt.fignum_exists(fig.number)
    assert read_png_provenance(path) == {}
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_different_data_draws_a_different_picture(tmp_path):
    a = line_with_bands(_table(0.0), "acc", tmp_path / "a.png", xlabel="x", ylabel="y")
    b = line_with_bands(_table(0.1), "acc", tmp_path / "b.png", xlabel="x", ylabel="y")
    a2 = line_with_bands(_table(0.0), "acc", tmp_path / "a2.png", xlabel="x", ylabel="y")
    assert _differ(a, b) and not _differ(a, a2)
    c = bars_at_x(_table(0.0), "acc", tmp_path / "c.png", ylabel="y")
    d = bars_at_x(_table(0.1), "acc", tmp_path / "d.png", ylabel="y")
    e = bars_at_x(_table(0.0), "acc", tmp_path / "e.png", x=1, ylabel="y")
    assert _differ(c, d) and _differ(c, e)


def _has_colour(path, hex_colour: str) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    return bool((np.abs(_pixels(path) - rgb).max(axis=-1) < 8).sum() > 50)


def test_a_variant_keeps_its_colour_when_others_are_not_shown(tmp_path):
    table = _table(0.0, variants=("fresh", "warm", "shrink_perturb"))  # sorted: fresh, shrink_perturb, warm
    warm_colour = PALETTE[2]
    subset = line_with_bands(table, "acc", tmp_path / "subset.png", xlabel="x", ylabel="y", variants=["warm"])
    assert _has_colour(subset, warm_colour)
    bars = bars_at_x(table, "acc", tmp_path / "bars.png", ylabel="y", variants=["warm", "fresh"])
    assert _has_colour(bars, warm_colour) and _has_colour(bars, PALETTE[0])
    assert not _has_colour(bars, PALETTE[1])  # shrink_perturb is not drawn
