"""Reading and writing result files with their provenance embedded or beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from plasticlab.runtime.atomic import atomic_path, write_text_atomic

PROVENANCE_KEY = b"plasticlab:provenance"


def write_json(path: str | Path, record: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


def write_parquet(path: str | Path, frame: pd.DataFrame, provenance: dict[str, Any] | None = None) -> None:
    """Write ``frame`` atomically; provenance goes into the Parquet schema metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if provenance is not None:
        metadata = dict(table.schema.metadata or {})
        metadata[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True, default=str).encode()
        table = table.replace_schema_metadata(metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet_provenance(path: str | Path) -> dict[str, Any] | None:
    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(PROVENANCE_KEY)
    return json.loads(raw) if raw else None


def write_csv(path: str | Path, frame: pd.DataFrame, provenance: dict[str, Any] | None = None) -> None:
    """Write a CSV atomically, with its provenance in ``<name>.provenance.json`` beside it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
    if provenance is not None:
        write_json(provenance_sidecar(path), provenance)


def provenance_sidecar(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".provenance.json")
