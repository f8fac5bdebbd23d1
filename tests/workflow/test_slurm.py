"""The SLURM profile on a real single-node SLURM (Debian's slurm-wlm + munge on this machine).

Installs the packages if missing (root + apt), starts munged/slurmctld/slurmd from
scripts/slurm_localhost.sh, runs the toy `qtd` and `warmstart` studies through
`snakemake --profile workflow/profiles/slurm`, checks that qtd's table equals the shared local
run's and that each torch job used the CPUs SLURM allocated, and stops exactly the daemons it
started. The executor plugin is installed into a scratch directory on
PYTHONPATH for this test only: with the plugin in the venv, every other Snakemake call would pay
its start-up probe of a SLURM controller that is not running.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.workflow import slurm_setup
from tests.workflow.conftest import make_project, only, run_snakemake, snakemake_env, toy_config

pytestmark = [pytest.mark.slow, pytest.mark.slurm]
# Poll squeue every few seconds (the plugin waits 40 s, then a minute between checks, by default:
# right for a shared cluster, 90 s of idling per job here).
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "3"]


@pytest.fixture(scope="module")
def slurm_software():
    """Packages and plugin, installed in the background since collection (tests/workflow/slurm_setup.py)."""
    reason = slurm_setup.skip_reason()
    if reason:
        pytest.skip(reason)
    prepared = slurm_setup.wait()
    if "skip" in prepared:
        pytest.skip(prepared["skip"])
    assert "error" not in prepared, prepared.get("error")
    yield prepared
    slurm_setup.cleanup()


@pytest.fixture(scope="module")
def slurm_cluster(slurm_software):
    # munged runs as user munge: its directory must be reachable (pytest's tmp root is root-only)
    state = Path(tempfile.mkdtemp(prefix="plasticlab-slurm-"))
    state.chmod(0o755)
    start = subprocess.run([str(slurm_setup.SCRIPT), "start", str(state)], capture_output=True, text=True, timeout=120)
    assert start.returncode == 0, start.stdout + start.stderr
    pids = {name: int((state / f"{name}.pid").read_text()) for name in ("munged", "slurmctld", "slurmd")}
    # a node with fewer CPUs than a job asks for leaves that job pending for ever: fail here instead
    node_cpus = re.search(r"NodeName=\S+ CPUs=(\d+)", (state / "slurm.conf").read_text())
    assert node_cpus and int(node_cpus.group(1)) == os.cpu_count(), (node_cpus, os.cpu_count())
    try:
        yield {"state": state, "conf": state / "slurm.conf", "timings": slurm_software["timings"]}
    finally:
        stop = subprocess.run([str(slurm_setup.SCRIPT), "stop", str(state)], capture_output=True, text=True, timeout=120)
        assert stop.returncode == 0, stop.stderr
        alive = [name for name, pid in pids.items() if Path(f"/proc/{pid}").exists()]
        assert not alive, f"still running after stop: {alive}"
        assert not os.path.lexists("/etc/slurm/slurm.conf")
        shutil.rmtree(state, ignore_errors=True)


def _cluster_config() -> dict:
    """The toy qtd study (its table is compared with the shared local run) and the toy warmstart
    with two torch threads per run (what SLURM allocates must be what the job uses)."""
    config = only(toy_config(), "qtd", "warmstart")
    config["threads_per_run"] = 2
    return config


def test_studies_through_slurm_profile_equal_local_runs_with_matching_cpus(slurm_cluster, slurm_software, tmp_path,
                                                                         finished_project):
    cluster = make_project(tmp_path / "cluster", _cluster_config())
    env = dict(snakemake_env(), SLURM_CONF=str(slurm_cluster["conf"]),
               PYTHONPATH=os.pathsep.join(filter(None, [str(slurm_software["plugin"]), os.environ.get("PYTHONPATH")])))
    started = time.monotonic()
    result = run_snakemake(cluster, "--profile", "workflow/profiles/slurm", *FAST_POLLING, "--verbose", "qtd",
                           "warmstart", env=env, timeout=900)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    # only training went through sbatch: the tabular group (qtd's job) and one job per warmstart
    # variant; aggregation and figures are local rules of the submitting Snakemake
    assert output.count("submitted with SLURM jobid") == 3, output[-5000:]
    assert "Group job tabular" in output or "group job tabular" in output.lower()
    calls = [line for line in output.splitlines() if "sbatch call:" in line]
    warmstart_calls = [line for line in calls if "train_warmstart" in line]
    assert len(warmstart_calls) == 2 and all("--cpus-per-task=2" in line for line in warmstart_calls), calls
    for variant in ("warm", "fresh"):
        for seed in (0, 1):
            record = json.loads((cluster / f"results/runs/warmstart/{variant}/seed={seed}/run.json").read_text())
            assert record["threads"] == 2 and record["slurm"]["cpus_per_task"] == "2", record["slurm"]
    # Same numbers as the local run of the same study; provenance (host, time) lives beside the table.
    pd.testing.assert_frame_equal(_table(cluster, "qtd"), _table(finished_project, "qtd"))
    figures = sorted(p.name for p in (cluster / "results" / "figures" / "qtd").iterdir())
    assert figures == sorted(p.name for p in (finished_project / "results" / "figures" / "qtd").iterdir()) and figures
    print(f"\nSLURM run: {elapsed:.1f} s (set-up in the background: {slurm_cluster['timings']})")


def _table(project: Path, study: str) -> pd.DataFrame:
    return pd.read_csv(project / "results" / "tables" / f"{study}.csv")
