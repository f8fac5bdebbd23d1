"""Throw-away copies of the workflow with small configs, run through the real Snakemake CLI."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from plasticlab.workflow_plan import CACHE_DIR_VARIABLE
from tests.conftest import REPO, tiny_warmstart_section


def snakemake_env() -> dict[str, str]:
    """The venv's bin first on PATH, so rules find the `plasticlab` command."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def session_shared_dir(tmp_path_factory) -> Path:
    """The test session's temporary root, which every pytest-xdist worker shares (each worker's own
    base directory lies under it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def shared_workflow_plans(tmp_path_factory):
    """The test projects share one directory of workflow plans (keyed by config and code; the cache
    itself is tested in tests/test_workflow_plan_cache.py), so a copied project or a removed
    ``.snakemake`` does not build the same plan again. Under pytest-xdist the workers share it."""
    plans = session_shared_dir(tmp_path_factory) / "workflow-plans"
    plans.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_VARIABLE, str(plans))
        yield plans


def run_snakemake(workdir: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True,
                          env=env or snakemake_env(), timeout=timeout)


def run_cli(workdir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plasticlab.cli", *args], cwd=workdir, capture_output=True,
                          text=True, env=snakemake_env(), timeout=timeout)


def make_project(destination: Path, config: dict) -> Path:
    """Copy what a user's clone has (the workflow with its Snakefile and profiles) and write ``config``."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "workflow", destination / "workflow", symlinks=False, dirs_exist_ok=True)
    (destination / "config").mkdir(exist_ok=True)
    (destination / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return destination


def toy_config() -> dict:
    """Every study at toy size (.test/config.yaml, the snakemake-workflows convention)."""
    with open(REPO / ".test" / "config.yaml") as handle:
        return yaml.safe_load(handle)


def pytest_collection_modifyitems(session, config, items):
    """Start installing the SLURM test's software now if it will run: its network waits then
    overlap the CPU-bound tests collected before it."""
    if any(item.get_closest_marker("slurm") for item in items):
        from tests.workflow import slurm_setup

        slurm_setup.start()


@pytest.fixture(scope="session")
def tiny_project_config() -> dict:
    return {"data_dir": "data", "device": "cpu", "threads_per_run": 1, "studies": {"warmstart": tiny_warmstart_section()}}


@pytest.fixture(scope="session")
def finished_project(tmp_path_factory) -> Path:
    """The toy config (every study) run to completion once, shared by the tests that only read it.

    Under pytest-xdist every worker has its own session, so the project lives in the directory all
    workers share and a file lock lets the first worker that needs it run it while any other waits.
    (``--dist loadgroup`` would be the natural tool, but pytest-xdist 3.8 cannot group on pytest 9.)"""
    shared = session_shared_dir(tmp_path_factory)
    project, finished = shared / "toy-project", shared / "toy-project.finished"
    with FileLock(str(shared / "toy-project.lock")):
        if not finished.exists():
            shutil.rmtree(project, ignore_errors=True)
            make_project(project, toy_config())
            result = run_snakemake(project, "--cores", "2")
            assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
            finished.touch()
    return project


def only(config: dict, *names: str) -> dict:
    """``config`` with just the named studies."""
    config = copy.deepcopy(config)
    config["studies"] = {name: config["studies"][name] for name in names}
    return config


def planned_jobs(output: str) -> dict[str, int]:
    """Rule → job count from the "Job stats" table of a Snakemake (dry) run."""
    counts: dict[str, int] = {}
    in_table = False
    for line in output.splitlines():
        words = line.split()
        if line.startswith("Job stats"):
            in_table = True
        elif in_table and len(words) == 2 and words[1].isdigit():
            if words[0] == "total":
                break
            counts[words[0]] = int(words[1])
    return counts
