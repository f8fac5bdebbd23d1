"""The Snakemake DAG: dry run, lint, config errors, a full tiny run, the report, resume."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.workflow.conftest import make_project, planned_jobs, run_snakemake, snakemake_env

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "extra, disentangle_runs",
    [([], 2 * 8 * 5), (["--configfile", "config/paper.yaml"], 5 * 8 * 5)],
    ids=["default", "paper"],
)
def test_dry_run_plans_every_run(extra, disentangle_runs):
    result = run_snakemake(REPO, "-n", "--cores", "1", "--forceall", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    planned = planned_jobs(result.stdout + result.stderr)
    assert planned["train_warmstart"] == 7 * 5  # 7 variants × 5 seeds
    assert planned["train_disentangle"] == disentangle_runs  # streams × 8 interventions × 5 seeds
    # one aggregate per study (every study has exactly one plot rule)
    assert planned["aggregate"] == sum(1 for rule in planned if rule.startswith("plot_"))
    assert planned["plot_warmstart"] == 1 and planned["plot_disentangle"] == 1
    # tabular studies: one job per variant and seed batch (default: all seeds in one job)
    paper = bool(extra)
    assert planned["train_qtd"] == (4 * 4 if paper else 2)  # environments × batches of 25 of 100 seeds
    assert planned["train_dcfp"] == (5 * 3 if paper else 3)  # (environments + scaling) × batches of 10 of 30
    assert planned["plot_qtd"] == planned["plot_dcfp"] == 1
    for study in ("understanding", "capacity"):  # 2 variants × 5 seeds, each trained then probed
        assert planned[f"train_{study}"] == planned[f"probe_{study}"] == 10
    # agent studies (injection 2 + softmoe 6 + hare_tortoise 3 variants) share one training rule:
    # default 2 environments × 2 seeds; paper 26 Atari-100k games × 5 seeds
    assert planned["train_agent"] == (11 * 26 * 5 if paper else 11 * 2 * 2)
    assert planned["plot_injection"] == planned["plot_softmoe"] == planned["plot_hare_tortoise"] == 1


def test_lint_is_clean():
    result = run_snakemake(REPO, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda c: c.update(colour="red"), "colour"),
        (lambda c: c["studies"]["warmstart"].update(seeds="five"), "seeds"),
        (lambda c: c["studies"].update(nosuchstudy={"seeds": 1}), "nosuchstudy"),
        (lambda c: c["studies"]["warmstart"]["variants"].update(bad="layernorm+nosuchthing"), "nosuchthing"),
        (lambda c: c["studies"]["warmstart"]["variants"].update(bad=[{"name": "reset", "layerz": 1}]), "layerz"),
        (lambda c: c["studies"]["warmstart"]["protocol"].update(chunks=0), "chunks"),
    ],
    ids=["unknown-key", "wrong-type", "unknown-study", "unknown-intervention", "unknown-parameter", "out-of-range"],
)
def test_bad_config_stops_with_a_message_naming_it(tmp_path, tiny_project_config, mutate, expected):
    config = copy.deepcopy(tiny_project_config)
    mutate(config)
    project = make_project(tmp_path, config)
    result = run_snakemake(project, "-n", "--cores", "1")
    assert result.returncode != 0
    assert expected in result.stderr + result.stdout
    check = subprocess.run([sys.executable, "-m", "plasticlab.cli", "check-config", str(project / "config/config.yaml")],
                           capture_output=True, text=True)
    assert check.returncode == 2 and expected in check.stderr


def test_tiny_run_produces_table_figures_and_provenance(finished_project):
    table = pd.read_csv(finished_project / "results/tables/warmstart.csv")
    assert {"variant", "x", "metric", "mean", "ci_low", "ci_high", "n_seeds"} <= set(table.columns)
    test_acc = table[table["metric"] == "test_accuracy"]
    assert sorted(set(test_acc["variant"])) == ["fresh", "warm"]
    assert (test_acc["n_seeds"] == 2).all()
    assert ((test_acc["ci_low"] <= test_acc["mean"]) & (test_acc["mean"] <= test_acc["ci_high"])).all()
    gap = table[table["metric"] == "test_accuracy_minus_warm"]
    assert set(gap["variant"]) == {"fresh"}
    for name in ("test_accuracy.png", "train_accuracy.png", "final_test_accuracy.png", "warmstart_gap.png"):
        assert (finished_project / "results/figures/warmstart" / name).stat().st_size > 10_000
    run = json.loads((finished_project / "results/runs/warmstart/warm/seed=1/run.json").read_text())
    assert run["seed"] == 1 and run["variant"] == "warm" and run["config"]["interventions"] == "none"
    assert run["packages"]["torch"].startswith("2.13") and "commit" in run["git"]
    log = (finished_project / "results/logs/warmstart/warm/seed=1.log").read_text()
    assert "task 3/3 done" in log


def test_report_is_written(finished_project):
    result = run_snakemake(finished_project, "--cores", "1", "--report", "results/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (finished_project / "results/report.html").stat().st_size > 50_000


def test_nothing_to_do_after_completion(finished_project):
    result = run_snakemake(finished_project, "-n", "--cores", "1")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_job_killed_under_snakemake_resumes_from_checkpoint(tmp_path, tiny_project_config, finished_project):
    project = make_project(tmp_path, tiny_project_config)
    target = "results/runs/warmstart/warm/seed=0/metrics.parquet"
    crashing = dict(snakemake_env(), PLASTICLAB_CRASH_AFTER_CHECKPOINTS="2")
    first = run_snakemake(project, "--cores", "1", target, env=crashing)
    assert first.returncode != 0
    assert not (project / target).exists()
    assert list((project / "results/runs/warmstart/warm/seed=0/checkpoints").glob("ckpt_*.pt"))
    second = run_snakemake(project, "--cores", "1", "--rerun-incomplete", target)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming from checkpoint" in (project / "results/logs/warmstart/warm/seed=0.log").read_text()
    # the uninterrupted run of the same config (the shared finished project) gives identical metrics
    pd.testing.assert_frame_equal(pd.read_parquet(project / target), pd.read_parquet(finished_project / target),
                                  check_exact=True)


def test_changed_config_does_not_resume_stale_checkpoints(tmp_path, tiny_project_config):
    project = make_project(tmp_path, tiny_project_config)
    target = "results/runs/warmstart/warm/seed=0/metrics.parquet"
    assert run_snakemake(project, "--cores", "1", target).returncode == 0
    changed = copy.deepcopy(tiny_project_config)
    changed["studies"]["warmstart"]["optimizer"]["lr"] = 3e-3
    make_project(project, changed)
    rerun = run_snakemake(project, "--cores", "1", target)  # params changed -> Snakemake re-runs the job
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = (project / "results/logs/warmstart/warm/seed=0.log").read_text()
    assert "different run config" in log
    assert list((project / "results/runs/warmstart/warm/seed=0").glob("checkpoints.stale-*"))
