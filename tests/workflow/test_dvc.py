"""DVC round trip: push results, delete them, pull them back byte-identical, no retraining."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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

    shutil.rmtree(project / "results")
    shutil.rmtree(project / ".dvc" / "cache")
    shutil.rmtree(project / ".snakemake")  # a fresh clone has no Snakemake metadata either
    # as `make pull`: studies nobody has published yet (only warmstart here) are skipped, not errors
    _run([*dvc, "pull", "--allow-missing"], project)
    assert _digests(project) == before

    plan = run_snakemake(project, "-n", "--cores", "1")
    assert plan.returncode == 0, plan.stderr[-3000:]
    planned = planned_jobs(plan.stdout + plan.stderr)
    assert "train_warmstart" not in planned, planned  # no retraining; at most tables/figures redrawn
    # `--touch` (what `make pull` runs after dvc pull) records pulled outputs as up to date.
    _run([sys.executable, "-m", "snakemake", "--cores", "1", "--touch"], project)
    final = run_snakemake(project, "-n", "--cores", "1")
    assert "Nothing to be done" in final.stdout + final.stderr
    assert _digests(project) == before
