"""GeneDisco-style screens from CSV files: a features file and a targets file joined by id.

``features``: one row per intervention (e.g. gene), an id column and numeric embedding columns.
``targets``: an id column and the outcome column (the screen's phenotype change). The candidates are
the target ids; every one needs a feature row (extra feature rows, e.g. genes the screen did not
cover, are dropped). Ids must be unique in each file and every used value numeric: a misaligned
join (the failure mode of reading such files by row order) is an error, never a silent shuffle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plasticlab.design.data.base import DesignData, make_data


def _read(path: Path, what: str, id_column: str) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    frame = pd.read_csv(path, dtype={id_column: str})
    if id_column not in frame.columns:
        raise KeyError(f"{what} file {path} has no id column {id_column!r}; columns: {list(frame.columns)}")
    duplicated = frame[id_column][frame[id_column].duplicated()]
    if len(duplicated):
        raise ValueError(f"{what} file {path}: duplicate ids {sorted(set(duplicated))[:5]}")
    if frame[id_column].isna().any():
        raise ValueError(f"{what} file {path}: empty id in row(s) {list(np.flatnonzero(frame[id_column].isna())[:5])}")
    return frame.set_index(id_column)


def _numeric(frame: pd.DataFrame, path: Path) -> np.ndarray:
    for column in frame.columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            first = frame.index[bad][0]
            raise ValueError(f"{path}: column {column!r} has a non-numeric or missing value "
                             f"{frame.loc[first, column]!r} for id {first!r}")
    return frame.to_numpy(dtype=float)


def screen(spec: dict[str, Any], data_dir: str | Path = ".") -> DesignData:
    """Load ``{features: path, targets: path, id_column: id, outcome_column: <the only other one>}``;
    relative paths are under ``data_dir``."""
    id_column = spec.get("id_column", "id")
    features_path, targets_path = (Path(data_dir) / spec[key] for key in ("features", "targets"))
    features = _read(features_path, "features", id_column)
    targets = _read(targets_path, "targets", id_column)
    outcome_column = spec.get("outcome_column")
    if outcome_column is None:
        if len(targets.columns) != 1:
            raise KeyError(f"targets file {targets_path} has columns {list(targets.columns)}: name one as outcome_column")
        outcome_column = targets.columns[0]
    if outcome_column not in targets.columns:
        raise KeyError(f"targets file {targets_path} has no outcome column {outcome_column!r}; columns: {list(targets.columns)}")
    missing = targets.index.difference(features.index)
    if len(missing):
        raise KeyError(f"{len(missing)} target id(s) have no row in {features_path}: {sorted(missing)[:5]}")
    if features.shape[1] == 0:
        raise ValueError(f"features file {features_path} has no feature columns besides {id_column!r}")
    ids = targets.index.to_numpy()
    outcome = _numeric(targets[[outcome_column]], targets_path)[:, 0]
    return make_data(spec.get("label", "screen"), _numeric(features.loc[ids], features_path), outcome, spec, ids=ids)
