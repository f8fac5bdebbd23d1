"""The results manifest: which runs (study × variant × seed) exist, with what config, in what state.

One row per run directory ``results/runs/<study>/<variant>/seed=<s>/``, read from its
``run.json`` (no Parquet or checkpoint is opened, so it is fast over thousands of runs):

* ``status``: ``complete`` or ``diverged`` (from run.json); ``partial`` when only checkpoints
  exist (an interrupted run that resumes when the workflow runs again);
* ``fingerprint``: :func:`plasticlab.runtime.checkpoint.run_fingerprint` of the run (study,
  seed, resolved config): the key its checkpoints are resumed under, equal for equal runs;
* ``config_sha256``: hash of the resolved run config alone (equal across seeds of a variant);
* ``config_files``: the config files the workflow merged for the run (``config/config.yaml
  config/paper.yaml`` for a paper-scale run), from its provenance.

The manifest is small and git-tracked (``results/manifest.csv``) while the runs are DVC-tracked,
so a clone shows what the DVC remote holds, and for which config, before anything is pulled.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from plasticlab.runtime.checkpoint import list_checkpoints, run_fingerprint

COLUMNS = ["study", "variant", "seed", "status", "fingerprint", "config_sha256", "config_files", "git_commit",
           "created", "wall_seconds", "checkpoints"]
_SEED_DIR = re.compile(r"^seed=(\d+)$")


def config_sha256(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _row(study: str, variant: str, seed: int, run_dir: Path) -> dict:
    checkpoints = len(list_checkpoints(run_dir / "checkpoints"))
    record_path = run_dir / "run.json"
    if not record_path.exists():
        return {"study": study, "variant": variant, "seed": seed, "status": "partial", "checkpoints": checkpoints}
    record = json.loads(record_path.read_text())
    config = record.get("config") or {}
    run = SimpleNamespace(config=config, seed=record.get("seed", seed), study=record.get("study", study))
    return {
        "study": study, "variant": variant, "seed": seed, "status": record.get("status", "complete"),
        "fingerprint": run_fingerprint(run), "config_sha256": config_sha256(config),
        "config_files": " ".join(entry["path"] for entry in record.get("config_files") or []),
        "git_commit": (record.get("git") or {}).get("commit"), "created": record.get("created"),
        "wall_seconds": record.get("wall_seconds"), "checkpoints": checkpoints,
    }


def build_manifest(runs_root: str | Path) -> pd.DataFrame:
    """Every run directory under ``runs_root`` (``results/runs``), sorted by study, variant, seed."""
    rows = []
    for study_dir in sorted(p for p in Path(runs_root).iterdir() if p.is_dir()) if Path(runs_root).is_dir() else []:
        for variant_dir in sorted(p for p in study_dir.iterdir() if p.is_dir()):
            for run_dir in variant_dir.iterdir():
                match = _SEED_DIR.match(run_dir.name)
                if match and run_dir.is_dir():
                    rows.append(_row(study_dir.name, variant_dir.name, int(match.group(1)), run_dir))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["seed"] = frame["seed"].astype(int)
    frame["checkpoints"] = frame["checkpoints"].astype(int)
    return frame.sort_values(["study", "variant", "seed"], ignore_index=True)
