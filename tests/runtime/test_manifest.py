"""The results manifest lists every run with its status and config hashes, from run.json alone."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from plasticlab import cli
from plasticlab.runtime.checkpoint import run_fingerprint, save_checkpoint
from plasticlab.runtime.manifest import build_manifest, config_sha256
from plasticlab.studies.base import RunSpec


def _run(root: Path, study: str, variant: str, seed: int, config: dict, status: str | None) -> RunSpec:
    run_dir = root / study / variant / f"seed={seed}"
    spec = RunSpec(study=study, variant=variant, seed=seed, config=config, out_dir=run_dir)
    if status is None:  # interrupted: checkpoints only
        save_checkpoint(run_dir / "checkpoints", 3, {"step": 3})
    else:
        run_dir.mkdir(parents=True)
        (run_dir / "run.json").write_text(json.dumps({"config": config, "seed": seed, "study": study,
                                                      "status": status, "git": {"commit": "abc"},
                                                      "wall_seconds": 1.5}))
    return spec


def test_manifest_lists_status_and_hashes(tmp_path):
    warm, fresh = {"variant": "warm", "lr": 1e-3}, {"variant": "fresh", "lr": 1e-3}
    runs = tmp_path / "results" / "runs"
    specs = [_run(runs, "warmstart", "warm", 0, warm, "complete"), _run(runs, "warmstart", "warm", 1, warm, "complete"),
             _run(runs, "warmstart", "fresh", 0, fresh, None), _run(runs, "softmoe", "soft1", 0, fresh, "diverged")]
    out = tmp_path / "results" / "manifest.csv"
    assert cli.main(["manifest", "--runs", str(runs), "--out", str(out)]) == 0
    manifest = pd.read_csv(out)
    assert list(manifest[["study", "variant", "seed", "status"]].itertuples(index=False, name=None)) == [
        ("softmoe", "soft1", 0, "diverged"), ("warmstart", "fresh", 0, "partial"),
        ("warmstart", "warm", 0, "complete"), ("warmstart", "warm", 1, "complete")]
    by_key = manifest.set_index(["study", "variant", "seed"])
    # the fingerprint is the one checkpoints are resumed under; seeds differ, configs agree
    assert by_key.loc[("warmstart", "warm", 0), "fingerprint"] == run_fingerprint(specs[0])
    assert by_key.loc[("warmstart", "warm", 1), "fingerprint"] == run_fingerprint(specs[1])
    assert by_key.loc[("warmstart", "warm", 0), "fingerprint"] != by_key.loc[("warmstart", "warm", 1), "fingerprint"]
    assert by_key.loc[("warmstart", "warm", 0), "config_sha256"] == config_sha256(warm)
    assert by_key.loc[("warmstart", "warm", 1), "config_sha256"] == config_sha256(warm)
    assert by_key.loc[("softmoe", "soft1", 0), "config_sha256"] == config_sha256(fresh) != config_sha256(warm)
    assert by_key.loc[("warmstart", "fresh", 0), "checkpoints"] == 1
    assert pd.isna(by_key.loc[("warmstart", "fresh", 0), "fingerprint"])


def test_empty_results_give_an_empty_manifest_with_columns(tmp_path):
    manifest = build_manifest(tmp_path / "missing")
    assert manifest.empty and "fingerprint" in manifest.columns


def test_train_records_diverged_status_from_the_summary_row():
    diverged = pd.DataFrame({"step": [5], "phase": ["summary"], "metric": ["diverged"], "value": [1.0]})
    assert cli._run_status(diverged) == "diverged"
    assert cli._run_status(diverged.assign(value=0.0)) == "complete"
    assert cli._run_status(pd.DataFrame({"seed": [0], "mse": [0.1]})) == "complete"  # tabular tables
