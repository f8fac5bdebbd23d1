"""The conda environments: `--use-conda` finds this checkout from Snakemake's copy of the env file."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from plasticlab import workflow_plan

from tests.conftest import REPO


def _pip_lines(path):
    with open(path) as handle:
        dependencies = yaml.safe_load(handle)["dependencies"]
    return next(item["pip"] for item in dependencies if isinstance(item, dict))


def test_use_conda_env_installs_this_checkout_from_wherever_snakemake_copies_it(tmp_path, monkeypatch):
    """conda writes an env file's pip section to a requirements file beside the file and runs pip
    there; Snakemake's copy lives under .snakemake/conda/, so `.` would be the wrong directory.
    With the variable the workflow exports, pip resolves the checkout from any directory."""
    monkeypatch.delenv(workflow_plan.REPOSITORY_ROOT_VARIABLE, raising=False)
    copy = tmp_path / ".snakemake" / "conda"
    copy.mkdir(parents=True)
    (copy / "requirements.txt").write_text("\n".join(_pip_lines(REPO / "workflow" / "envs" / "plasticlab.yaml")) + "\n")
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-build-isolation", "-r",
               "requirements.txt"]
    without = subprocess.run(command, cwd=copy, capture_output=True, text=True, env=dict(os.environ))
    assert without.returncode != 0  # the variable is what makes it work
    root = workflow_plan.export_repository_root(REPO / "workflow")
    assert root == str(REPO)
    result = subprocess.run(command, cwd=copy, capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"file://{REPO}" in result.stdout and "Would install plasticlab" in result.stdout


def test_both_env_files_pin_through_the_lock_file_and_install_the_package():
    assert _pip_lines(REPO / "environment.yml") == ["-c requirements.lock", "-e ."]
    assert _pip_lines(REPO / "workflow" / "envs" / "plasticlab.yaml") == [
        "-c ${PLASTICLAB_ROOT}/requirements.lock", "-e ${PLASTICLAB_ROOT}"]
    lock = (REPO / "requirements.lock").read_text().splitlines()
    assert "torch==2.13.0" in lock
