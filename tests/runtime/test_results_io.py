"""Result files carry their provenance and are written atomically."""

from __future__ import annotations

import json

import pandas as pd

from plasticlab.runtime.atomic import atomic_path
from plasticlab.runtime.provenance import provenance
from plasticlab.runtime.results_io import provenance_sidecar, read_parquet_provenance, write_csv, write_parquet


def test_parquet_embeds_provenance(tmp_path):
    frame = pd.DataFrame({"metric": ["a", "b"], "value": [1.0, 2.0]})
    record = provenance(config={"x": 1}, seed=3)
    write_parquet(tmp_path / "m.parquet", frame, provenance=record)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "m.parquet"), frame)
    stored = read_parquet_provenance(tmp_path / "m.parquet")
    assert stored["seed"] == 3 and stored["config"] == {"x": 1}
    assert stored["packages"]["torch"].startswith("2.13")
    assert "commit" in stored["git"]


def test_csv_sidecar(tmp_path):
    write_csv(tmp_path / "t.csv", pd.DataFrame({"a": [0.5]}), provenance={"seed": None, "k": "v"})
    assert json.loads(provenance_sidecar(tmp_path / "t.csv").read_text())["k"] == "v"
    assert provenance_sidecar(tmp_path / "t.csv").name == "t.provenance.json"


def test_failed_write_leaves_old_file_untouched(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("complete old content")
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    except RuntimeError:
        pass
    assert target.read_text() == "complete old content"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
