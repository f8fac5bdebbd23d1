"""DVC round trip: push results, delete them, pull them back byte-identical, no retraining."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from plasticlab.runtime.manifest import build_manifest

from tests.conftest import REPO
from tests.workflow.conftest import planned_jobs, run_snakemake, snakemake_env

pytestmark = pytest.mark.slow


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=snakemake_env(), timeout=300)
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


def _digests(root: Path) -> dict[str, str]:
    tracked = ["results/runs", "results/tables", "results/figures"]
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for base in tracked
        for path in sorted((root / base).rglob("*"))
        if path.is_file() and path.name != ".gitignore"
    }


def test_push_delete_pull_restores_identical_results_without_retraining(finished_project, tmp_path):
    project = tmp_path / "clone"
    shutil.copytree(finished_project, project, symlinks=True)
    dvc = [sys.executable, "-m", "dvc"]
    # A clone of the project has git and the repository's DVC config and pipeline.
    _run(["git", "init", "-q"], project)
    shutil.copytree(REPO / ".dvc", project / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"), dirs_exist_ok=True)
    shutil.copy(REPO / "dvc.yaml", project / "dvc.yaml")
    shutil.copy(REPO / ".dvcignore", project / ".dvcignore")
    (project / "src").mkdir(exist_ok=True)  # dvc.yaml depends on src/plasticlab
    shutil.copytree(REPO / "src" / "plasticlab", project / "src" / "plasticlab", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    remote = tmp_path / "remote"
    _run([*dvc, "remote", "add", "--local", "-f", "-d", "testremote", str(remote)], project)

    before = _digests(project)
    assert any(name.endswith("metrics.parquet") for name in before)
    assert any("/checkpoints/" in name for name in before)
    _run([*dvc, "commit", "-f", "warmstart"], project)
    _run([*dvc, "push"], project)
    # the git-tracked manifest is published with dvc.lock: a clone sees what the remote holds
    _run([sys.executable, "-m", "plasticlab.cli", "manifest"], project)
    manifest = (project / "results" / "manifest.csv").read_text()

    shutil.rmtree(project / "results")
    (project / "results").mkdir()
    (project / "results" / "manifest.csv").write_text(manifest)  # what `git clone` brings
    listed = pd.read_csv(project / "results" / "manifest.csv")
    assert sorted(zip(listed["variant"], listed["seed"])) == [("fresh", 0), ("fresh", 1), ("warm", 0), ("warm", 1)]
    assert set(listed["status"]) == {"complete"} and listed["fingerprint"].nunique() == 4
    shutil.rmtree(project / ".dvc" / "cache")
    shutil.rmtree(project / ".snakemake")  # a fresh clone has no Snakemake metadata either
    # as `make pull`: studies nobody has published yet (only warmstart here) are skipped, not errors
    _run([*dvc, "pull", "--allow-missing"], project)
    assert _digests(project) == before
    pd.testing.assert_frame_equal(build_manifest(project / "results" / "runs"), listed)

    plan = run_snakemake(project, "-n", "--cores", "1")
    assert plan.returncode == 0, plan.stderr[-3000:]
    planned = planned_jobs(plan.stdout + plan.stderr)
    assert "train_warmstart" not in planned, planned  # no retraining; at most tables/figures redrawn
    # `--touch` (what `make pull` runs after dvc pull) records pulled outputs as up to date.
    _run([sys.executable, "-m", "snakemake", "--cores", "1", "--touch"], project)
    final = run_snakemake(project, "-n", "--cores", "1")
    assert "Nothing to be done" in final.stdout + final.stderr
    assert _digests(project) == before


def test_pulled_runs_rebuild_tables_and_figures_without_training(finished_project, tmp_path):
    """After a pull without tables and figures (or with stale ones), `snakemake <study>` redraws
    them from the pulled runs and trains nothing."""
    project = tmp_path / "clone"
    shutil.copytree(finished_project, project, symlinks=True)
    table = (project / "results" / "tables" / "warmstart.csv").read_text()
    shutil.rmtree(project / "results" / "tables")
    shutil.rmtree(project / "results" / "figures")
    shutil.rmtree(project / ".snakemake")
    result = run_snakemake(project, "--cores", "2", "warmstart")
    assert result.returncode == 0, result.stderr[-3000:]
    ran = planned_jobs(result.stdout + result.stderr)
    assert ran.get("aggregate") == 1 and ran.get("plot_warmstart") == 1, ran
    assert not any(rule.startswith("train_") for rule in ran), ran
    assert (project / "results" / "tables" / "warmstart.csv").read_text() == table
    assert list((project / "results" / "figures" / "warmstart").glob("*.png"))
