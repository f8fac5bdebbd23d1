"""The SLURM profile on a real single-node SLURM (Debian's slurm-wlm + munge on this machine).

Installs the packages if missing (root + apt), starts munged/slurmctld/slurmd from
scripts/slurm_localhost.sh, runs the smallest default study (`qtd`) through
`snakemake --profile workflow/profiles/slurm`, checks its table equals a local run's, and stops
exactly the daemons it started. The executor plugin is installed into a scratch directory on
PYTHONPATH for this test only: with the plugin in the venv, every other Snakemake call would pay
its start-up probe of a SLURM controller that is not running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from tests.workflow.conftest import make_project, run_snakemake, snakemake_env

pytestmark = [pytest.mark.slow, pytest.mark.slurm]
SCRIPT = REPO / "scripts" / "slurm_localhost.sh"
PLUGINS = ["snakemake-executor-plugin-slurm==2.8.0", "snakemake-executor-plugin-slurm-jobstep==0.6.1"]
# Poll squeue every few seconds (the plugin waits 40 s, then a minute between checks, by default:
# right for a shared cluster, 90 s of idling per job here).
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "3"]


def _skip_reason() -> str | None:
    if sys.platform != "linux" or os.geteuid() != 0:
        return "needs root on Linux to install and start slurmctld/slurmd/munged"
    if shutil.which("apt-get") is None:
        return "needs apt-get to install Debian's slurm-wlm and munge"
    if os.path.exists("/etc/slurm/slurm.conf"):
        return "a SLURM is configured on this machine already (/etc/slurm/slurm.conf)"
    return None


def _installed() -> bool:
    return all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue"))


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    timings: dict[str, float] = {}
    started = time.monotonic()
    if not _installed():
        update = subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, timeout=300)
        if update.returncode != 0 or "Err:" in update.stdout:
            pytest.skip(f"no network to the apt repositories: {(update.stdout + update.stderr)[-300:]}")
        install = subprocess.run([str(SCRIPT), "install"], capture_output=True, text=True, timeout=900)
        assert install.returncode == 0, install.stderr[-3000:]
    timings["apt"] = time.monotonic() - started
    # munged runs as user munge: its directory must be reachable (pytest's tmp root is root-only)
    state = Path(tempfile.mkdtemp(prefix="plasticlab-slurm-"))
    state.chmod(0o755)
    start = subprocess.run([str(SCRIPT), "start", str(state)], capture_output=True, text=True, timeout=120)
    assert start.returncode == 0, start.stdout + start.stderr
    pids = {name: int((state / f"{name}.pid").read_text()) for name in ("munged", "slurmctld", "slurmd")}
    try:
        yield {"state": state, "conf": state / "slurm.conf", "timings": timings}
    finally:
        stop = subprocess.run([str(SCRIPT), "stop", str(state)], capture_output=True, text=True, timeout=120)
        assert stop.returncode == 0, stop.stderr
        alive = [name for name, pid in pids.items() if Path(f"/proc/{pid}").exists()]
        assert not alive, f"still running after stop: {alive}"
        assert not os.path.lexists("/etc/slurm/slurm.conf")
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("slurm-plugin")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                             *PLUGINS], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.skip(f"cannot install the SLURM executor plugin from the package index: {result.stderr[-300:]}")
    return target


def _qtd_only() -> dict:
    with open(REPO / "config" / "config.yaml") as handle:
        config = yaml.safe_load(handle)
    config["studies"] = {"qtd": config["studies"]["qtd"]}  # the smallest default study, unchanged
    return config


def _table(project: Path) -> pd.DataFrame:
    return pd.read_csv(project / "results" / "tables" / "qtd.csv")


def test_qtd_through_slurm_profile_equals_local_run(slurm_cluster, plugin_path, tmp_path):
    config = _qtd_only()
    local = make_project(tmp_path / "local", config)
    assert run_snakemake(local, "--cores", "2", "qtd").returncode == 0

    cluster = make_project(tmp_path / "cluster", config)
    env = dict(snakemake_env(), SLURM_CONF=str(slurm_cluster["conf"]),
               PYTHONPATH=os.pathsep.join(filter(None, [str(plugin_path), os.environ.get("PYTHONPATH")])))
    started = time.monotonic()
    result = run_snakemake(cluster, "--profile", "workflow/profiles/slurm", *FAST_POLLING, "qtd", env=env, timeout=900)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "submitted with SLURM jobid" in output  # really went through sbatch
    # the two tabular training jobs travelled as one group job (the profile's `tabular` group)
    assert "Group job tabular" in output
    assert output.count("submitted with SLURM jobid") == 3  # group(train x2), aggregate, plot
    # Same numbers as the local run; provenance (host, pid, time) differs and lives beside the table.
    pd.testing.assert_frame_equal(_table(cluster), _table(local))
    figures = sorted(p.name for p in (cluster / "results" / "figures" / "qtd").iterdir())
    assert figures == sorted(p.name for p in (local / "results" / "figures" / "qtd").iterdir()) and figures
    print(f"\nSLURM qtd run: {elapsed:.1f} s (apt install {slurm_cluster['timings']['apt']:.1f} s)")
