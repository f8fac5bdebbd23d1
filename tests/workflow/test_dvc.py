"""DVC: push results, delete them, pull them back byte-identical with no retraining; per-study
params and data dependencies (a change re-runs exactly the studies that read it)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from plasticlab.runtime.manifest import build_manifest
from plasticlab.studies import available
from tests.conftest import REPO
from tests.data.test_loaders import _write_mnist
from tests.workflow.conftest import make_project, only, planned_jobs, run_snakemake, snakemake_env, toy_config

pytestmark = pytest.mark.slow
DVC = [sys.executable, "-m", "dvc"]


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


def _dvc_project(project: Path, remote: Path) -> None:
    """What a clone has besides the workflow: git, the DVC config, the package sources the stages
    depend on, and dvc.yaml generated for the project's config."""
    _run(["git", "init", "-q"], project)
    shutil.copytree(REPO / ".dvc", project / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"), dirs_exist_ok=True)
    shutil.copy(REPO / ".dvcignore", project / ".dvcignore")
    shutil.copytree(REPO / "src" / "plasticlab", project / "src" / "plasticlab", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    _run([sys.executable, "-m", "plasticlab.cli", "dvc-stages"], project)
    _run([*DVC, "remote", "add", "--local", "-f", "-d", "testremote", str(remote)], project)


def test_push_delete_pull_restores_identical_results_without_retraining(finished_project, tmp_path):
    project = tmp_path / "clone"
    shutil.copytree(finished_project, project, symlinks=True)
    _dvc_project(project, tmp_path / "remote")

    before = _digests(project)
    assert any(name.endswith("metrics.parquet") for name in before)
    assert any("/checkpoints/" in name for name in before)
    _run([*DVC, "commit", "-f"], project)
    _run([*DVC, "push"], project)
    # the git-tracked manifest is published with dvc.lock: a clone sees what the remote holds
    _run([sys.executable, "-m", "plasticlab.cli", "manifest"], project)
    manifest = (project / "results" / "manifest.csv").read_text()

    shutil.rmtree(project / "results")
    (project / "results").mkdir()
    (project / "results" / "manifest.csv").write_text(manifest)  # what `git clone` brings
    listed = pd.read_csv(project / "results" / "manifest.csv")
    warm = listed[listed["study"] == "warmstart"]
    assert sorted(zip(warm["variant"], warm["seed"])) == [("fresh", 0), ("fresh", 1), ("warm", 0), ("warm", 1)]
    assert set(listed["study"]) == set(available()) and set(listed["status"]) == {"complete"}
    assert set(listed["config_files"]) == {"config/config.yaml"}
    shutil.rmtree(project / ".dvc" / "cache")
    shutil.rmtree(project / ".snakemake")  # a fresh clone has no Snakemake metadata either
    _run([*DVC, "pull", "--allow-missing"], project)
    assert _digests(project) == before
    pd.testing.assert_frame_equal(build_manifest(project / "results" / "runs"), listed)

    plan = run_snakemake(project, "-n", "--cores", "1")
    assert plan.returncode == 0, plan.stderr[-3000:]
    planned = planned_jobs(plan.stdout + plan.stderr)
    # no retraining (training rules have no inputs); probes and tables may be redone from the pulled
    # runs when pulled files' times disagree, which `--touch` below settles
    assert not any(rule.startswith("train_") for rule in planned), planned
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
    result = run_snakemake(project, "--cores", "2", "warmstart", "understanding")
    assert result.returncode == 0, result.stderr[-3000:]
    ran = planned_jobs(result.stdout + result.stderr)
    assert ran.get("aggregate") == 2 and ran.get("plot_warmstart") == 1, ran
    assert not any(rule.startswith(("train_", "probe_")) for rule in ran), ran
    assert (project / "results" / "tables" / "warmstart.csv").read_text() == table


def _fake_outputs(project: Path, stages: dict) -> None:
    """Outputs for DVC to record (the test is about dependencies, not about training)."""
    for stage in stages.values():
        for out in stage["outs"]:
            path = project / (next(iter(out)) if isinstance(out, dict) else out)
            if path.suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(str(path))
            else:
                path.mkdir(parents=True, exist_ok=True)
                (path / "file.txt").write_text(str(path))


def _changed(project: Path) -> set[str]:
    status = json.loads(_run([*DVC, "status", "--json"], project).stdout or "{}")
    return set(status)


def test_a_config_section_or_data_file_change_reruns_exactly_the_studies_that_read_it(tmp_path):
    config = only(toy_config(), "warmstart", "qtd", "dcfp")
    config["studies"]["warmstart"]["dataset"] = "mnist"
    project = make_project(tmp_path / "project", config)
    _write_mnist(project / "data" / "mnist", n_train=20, n_test=10)
    _dvc_project(project, tmp_path / "remote")
    _run([*DVC, "add", "data/mnist"], project)  # what the README tells a user to do with a data set
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert "data/mnist" in stages["warmstart"]["deps"]
    _fake_outputs(project, stages)
    _run([*DVC, "commit", "-f"], project)
    assert _changed(project) == set()

    edited = yaml.safe_load((project / "config" / "config.yaml").read_text())
    edited["studies"]["qtd"]["updates"] = [5, 30]
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(edited, sort_keys=False))
    assert _changed(project) == {"qtd"}  # warmstart and dcfp stay up to date

    _run([*DVC, "commit", "-f"], project)
    labels = project / "data" / "mnist" / "train-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1] + bytes([(labels.read_bytes()[-1] + 1) % 10]))
    assert _changed(project) == {"warmstart", "data/mnist.dvc"}

    # the data set travels with the results: push, delete, pull brings the same bytes back
    _run([*DVC, "commit", "-f"], project)
    _run([*DVC, "push"], project)
    original = labels.read_bytes()
    shutil.rmtree(project / "data" / "mnist")
    shutil.rmtree(project / ".dvc" / "cache")
    _run([*DVC, "pull"], project)
    assert labels.read_bytes() == original
