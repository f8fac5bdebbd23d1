"""A job killed in any phase (train, probe, aggregate) leaves no final output that looks complete,
and the rerun completes: atomic writes plus Snakemake's handling of failed jobs."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.workflow.conftest import make_project, planned_jobs, run_snakemake, snakemake_env

pytestmark = pytest.mark.slow

UNDERSTANDING = {
    "enabled": True, "seeds": 1, "dataset": "digits", "model": {"name": "mlp", "hidden": [16, 16]},
    "optimizer": {"lr": 1.0e-3},
    "protocol": {"tasks": 2, "steps_per_task": 20, "batch_size": 32, "checkpoint_every_epochs": 10},
    "stream": "random_labels", "stream_options": {"subset": 64},
    "probe": {"steps": 10, "lr": 1.0e-3, "batch_size": 32, "inputs": 32, "lanczos_k": 3},
    "variants": {"none": "none"},
}
RUN = "results/runs/understanding/none/seed=0"
TABLE = "results/tables/understanding.csv"
# phase -> (rule, the file during whose write the job is killed, the step's final outputs).
# The kill lands after that file is written to its temporary path and before it is renamed into
# place; for train and aggregate an earlier output of the same job is already in place.
PHASES = [
    ("train", "train_understanding", "run.json", [f"{RUN}/metrics.parquet", f"{RUN}/run.json"]),
    ("probe", "probe_understanding", "probes.parquet", [f"{RUN}/probes.parquet"]),
    ("aggregate", "aggregate", "understanding.provenance.json", [TABLE, "results/tables/understanding.provenance.json"]),
]


def _replanned_after(phase_index: int, output: str) -> None:
    """The run after a kill in PHASES[phase_index] plans the killed step again and no step before it
    (read from the "Job stats" a real run prints before it starts)."""
    plan = planned_jobs(output)
    _, rule, _, _ = PHASES[phase_index]
    assert plan.get(rule) == 1, plan
    earlier = [r for _, r, _, _ in PHASES[:phase_index]]
    assert not any(r in plan for r in earlier), plan


def test_kill_in_each_phase_leaves_no_final_output_and_rerun_completes(tmp_path):
    """One project walks through the phases: each run is killed one phase further on."""
    project = make_project(tmp_path, {"data_dir": "data", "device": "cpu", "threads_per_run": 1,
                                      "studies": {"understanding": UNDERSTANDING}})
    for index, (phase, rule, killed_file, outputs) in enumerate(PHASES):
        killing = dict(snakemake_env(), PLASTICLAB_KILL_AT=f"write:{killed_file}")
        result = run_snakemake(project, "--cores", "1", TABLE, env=killing)
        log = result.stdout + result.stderr
        assert result.returncode != 0, log[-2000:]
        assert f"Error in rule {rule}" in log, log[-3000:]
        if index:
            _replanned_after(index - 1, log)
        for output in outputs:
            assert not (project / output).exists(), f"{output} survived a kill in {phase}"
        if len(outputs) > 1:  # the first output was in place when the job died: Snakemake removed it
            assert "Removing output files of failed job" in log

    final = run_snakemake(project, "--cores", "1", TABLE)
    assert final.returncode == 0, final.stderr[-3000:]
    _replanned_after(len(PHASES) - 1, final.stdout + final.stderr)
    table = pd.read_csv(project / TABLE)
    assert len(table) > 0 and set(table["study"]) == {"understanding"}
    assert "Nothing to be done" in run_snakemake(project, "-n", "--cores", "1", TABLE).stdout
