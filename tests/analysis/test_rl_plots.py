"""rliable-style figures: written with provenance, drawn from the table given, clear on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from plasticlab.analysis import read_png_provenance
from plasticlab.analysis.rl_plots import (improvement_plot, interval_estimates_plot, per_task_bars,
                                          performance_profile_plot, sample_efficiency_plot)
from plasticlab.analysis.rl_stats import (aggregate_table, improvement_table, per_task_table, profile_table,
                                          sample_efficiency_table)

N_BOOT = 200
TASKS = ["Alien", "Pong", "Breakout", "Boxing", "Krull", "Qbert"]


@pytest.fixture(scope="module")
def scores() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {name: rng.lognormal(mean=shift, sigma=0.6, size=(5, len(TASKS))) - 1.0
            for name, shift in [("dqn", 0.0), ("dqn+redo", 0.2), ("dqn+reset", 0.4)]}


@pytest.fixture(scope="module")
def tables(scores) -> dict[str, pd.DataFrame]:
    curves = {name: s[..., None] * np.linspace(0.2, 1.0, 5) for name, s in scores.items()}
    return {
        "interval": aggregate_table(scores, n_boot=N_BOOT),
        "profile": profile_table(scores, np.linspace(0.0, 3.0, 31), n_boot=N_BOOT),
        "improvement": improvement_table(scores, "dqn", n_boot=N_BOOT),
        "efficiency": sample_efficiency_table(curves, np.linspace(2e4, 1e5, 5), n_boot=N_BOOT),
        "per_task": per_task_table(scores, TASKS, n_boot=N_BOOT),
    }


PLOTS = {
    "interval": interval_estimates_plot,
    "profile": performance_profile_plot,
    "improvement": improvement_plot,
    "efficiency": sample_efficiency_plot,
    "per_task": per_task_bars,
}


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=float)


@pytest.mark.parametrize("kind", sorted(PLOTS))
def test_each_figure_is_a_png_with_provenance(tmp_path, tables, kind):
    provenance = {"study": "atari100k", "kind": kind, "seeds": [0, 1, 2, 3, 4]}
    path = PLOTS[kind](tables[kind], tmp_path / "sub" / f"{kind}.png", provenance=provenance)
    assert path == tmp_path / "sub" / f"{kind}.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    assert read_png_provenance(path) == provenance
    assert [p.name for p in path.parent.iterdir()] == [f"{kind}.png"]  # no temporary files left


@pytest.mark.parametrize("kind", sorted(PLOTS))
def test_different_data_draws_a_different_picture(tmp_path, tables, kind):
    shifted = tables[kind].copy()
    shifted[["estimate", "ci_low", "ci_high"]] *= 0.5
    a = _pixels(PLOTS[kind](tables[kind], tmp_path / "a.png"))
    c = _pixels(PLOTS[kind](shifted, tmp_path / "c.png"))
    assert a.shape != c.shape or np.abs(a - c).mean() > 0.1


def test_subsets_and_orders_of_variants_and_statistics(tmp_path, tables):
    path = interval_estimates_plot(tables["interval"], tmp_path / "iqm.png", statistics=["iqm"],
                                   variants=["dqn+reset", "dqn"])
    assert _pixels(path).shape[1] < _pixels(interval_estimates_plot(tables["interval"], tmp_path / "all.png")).shape[1]
    with pytest.raises(ValueError, match="not in the table"):
        interval_estimates_plot(tables["interval"], tmp_path / "x.png", statistics=["iqm", "max"])
    with pytest.raises(ValueError, match="none of the variants"):
        performance_profile_plot(tables["profile"], tmp_path / "x.png", variants=["sac"])


def test_bad_tables_fail_clearly(tmp_path, tables):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['tau'\]"):
        performance_profile_plot(tables["interval"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="no rows"):
        sample_efficiency_plot(tables["efficiency"].iloc[:0], tmp_path / "x.png")
    broken = tables["per_task"].copy()
    broken.loc[0, "ci_high"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        per_task_bars(broken, tmp_path / "x.png")
    two_baselines = tables["improvement"].assign(baseline=["dqn", "dqn+redo"])
    with pytest.raises(ValueError, match="one baseline"):
        improvement_plot(two_baselines, tmp_path / "x.png")
    assert not any(tmp_path.iterdir())  # nothing half-written
