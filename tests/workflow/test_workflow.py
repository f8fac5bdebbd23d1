"""The Snakemake DAG: dry runs of every config, lint, config errors, the toy config end to end,
the report, the workflow profile, resume after a killed job, recovery after a killed Snakemake."""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from plasticlab import config as cfg
from plasticlab import studies
from tests.conftest import REPO
from tests.workflow.conftest import (make_project, only, planned_jobs, run_cli, run_snakemake, snakemake_env,
                                     toy_config)

pytestmark = pytest.mark.slow


def _batches(section: dict) -> int:
    """Jobs per variant of a study whose job runs a batch of seeds in one seed=<first> directory."""
    return math.ceil(section["seeds"] / (section.get("seeds_per_job") or section["seeds"]))


def _per_seed_jobs(section: dict) -> int:
    """Jobs per variant of a study whose runs keep one directory per seed: 1 (all seeds) or seeds."""
    per_job = section.get("seeds_per_job")
    return 1 if per_job is None or per_job >= section["seeds"] else section["seeds"]


def expected_jobs(config: dict) -> dict[str, int]:
    """The DAG every study should give, worked out from the config's contents alone."""
    s = config["studies"]
    agents = sum(len([e for e in s[n]["envs"].values() if e.get("enabled", True)]) * len(s[n]["variants"])
                 * _per_seed_jobs(s[n]) for n in ("injection", "softmoe", "hare_tortoise"))
    jobs = {
        "train_warmstart": len(s["warmstart"]["variants"]) * _per_seed_jobs(s["warmstart"]),
        "train_disentangle": len(s["disentangle"]["streams"]) * len(s["disentangle"]["variants"])
                             * _per_seed_jobs(s["disentangle"]),
        "train_qtd": len(s["qtd"]["environments"]) * _batches(s["qtd"]),
        "train_dcfp": (len(s["dcfp"]["environments"]) + bool(s["dcfp"].get("scaling"))) * _batches(s["dcfp"]),
        "train_discobax": len(s["discobax"]["datasets"]) * _batches(s["discobax"]),
        "train_vlm_rewards": (len(s["vlm_rewards"]["models"]) + s["vlm_rewards"].get("oracle", True))
                             * _batches(s["vlm_rewards"]),
        "train_agent": agents,
        "aggregate": len(studies.available()), "claims": 1, "all": 1,
    }
    for name in ("understanding", "capacity"):
        jobs[f"train_{name}"] = jobs[f"probe_{name}"] = len(s[name]["variants"]) * _per_seed_jobs(s[name])
    jobs.update({f"plot_{name}": 1 for name in studies.available()})
    return jobs


@pytest.mark.parametrize("extra", [[], ["--configfile", "config/paper.yaml"]], ids=["default", "paper"])
def test_dry_run_plans_every_job_of_every_study(extra):
    result = run_snakemake(REPO, "-n", "--cores", "1", "--forceall", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    config = cfg.load_config(REPO / "config/config.yaml", *(REPO / path for path in extra[1:]))
    assert planned_jobs(result.stdout + result.stderr) == expected_jobs(config)


def test_lint_is_clean():
    result = run_snakemake(REPO, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


BAD_CONFIGS = [
    (lambda c: c.update(colour="red"), "colour"),
    (lambda c: c["studies"]["warmstart"].update(seeds="five"), "seeds"),
    (lambda c: c["studies"].update(nosuchstudy={"seeds": 1}), "nosuchstudy"),
    (lambda c: c["studies"]["warmstart"]["variants"].update(bad="layernorm+nosuchthing"), "nosuchthing"),
    (lambda c: c["studies"]["warmstart"]["variants"].update(bad=[{"name": "reset", "layerz": 1}]), "layerz"),
    (lambda c: c["studies"]["warmstart"]["protocols"]["tiny"]["phases"][0].update(data=0), "data"),
    (lambda c: c["studies"]["warmstart"].update(seeds_per_job=3, seeds=4), "seeds_per_job"),
]
BAD_IDS = ["unknown-key", "wrong-type", "unknown-study", "unknown-intervention", "unknown-parameter", "out-of-range",
           "seed-batch"]


@pytest.mark.parametrize("mutate, expected", BAD_CONFIGS, ids=BAD_IDS)
def test_bad_config_is_refused_with_a_message_naming_it(tiny_project_config, mutate, expected):
    """What the workflow runs at start-up (common.smk): the JSON schema, then the registries."""
    config = copy.deepcopy(tiny_project_config)
    mutate(config)
    with pytest.raises(cfg.ConfigError, match=expected):
        cfg.check_config(config)


def test_bad_config_stops_snakemake_and_the_cli_with_the_same_message(tmp_path, tiny_project_config):
    config = copy.deepcopy(tiny_project_config)
    BAD_CONFIGS[4][0](config)
    project = make_project(tmp_path, config)
    result = run_snakemake(project, "-n", "--cores", "1")
    assert result.returncode != 0 and "layerz" in result.stderr + result.stdout
    check = run_cli(project, "check-config", "config/config.yaml")
    assert check.returncode == 2 and "layerz" in check.stderr and "Traceback" not in check.stderr


def test_toy_config_runs_every_study_to_tables_figures_and_claims(finished_project):
    config = toy_config()
    for study in studies.available():
        table = pd.read_csv(finished_project / f"results/tables/{study}.csv")
        assert len(table) and {"ci_low", "ci_high"} <= set(table.columns), study
        assert set(table["study"]) == {study}
        for name in studies.get(study).figures:
            assert (finished_project / f"results/figures/{study}/{name}").stat().st_size > 5_000, (study, name)
    claims = pd.read_csv(finished_project / "results/tables/claims.csv")
    assert set(claims["study"]) == set(studies.available())
    assert (finished_project / "results/figures/claims/claims.png").stat().st_size > 5_000
    # supervised studies ran one job per variant, yet every seed has its own run directory
    seeds = config["studies"]["warmstart"]["seeds"]
    logs = sorted(p.name for p in (finished_project / "results/logs/warmstart/warm").iterdir())
    assert logs == [f"seeds=0-{seeds - 1}.log"]
    for seed in range(seeds):
        run = json.loads((finished_project / f"results/runs/warmstart/warm/seed={seed}/run.json").read_text())
        assert run["seed"] == seed and run["variant"] == "warm" and run["config"]["interventions"] == "none"
        assert run["packages"]["torch"].startswith("2.13") and "commit" in run["git"]
        assert [entry["path"] for entry in run["config_files"]] == ["config/config.yaml"]
        assert run["threads"] == config["threads_per_run"]
    log = (finished_project / f"results/logs/warmstart/warm/seeds=0-{seeds - 1}.log").read_text()
    assert f"seed {seeds - 1} done" in log and "task 2/2 done" in log


def test_report_is_written(finished_project):
    result = run_snakemake(finished_project, "--cores", "1", "--report", "results/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (finished_project / "results/report.html").stat().st_size > 50_000


def test_nothing_to_do_after_completion(finished_project):
    result = run_snakemake(finished_project, "-n", "--cores", "1")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_workflow_profile_is_in_force_without_being_named(tmp_path, tiny_project_config):
    """`snakemake` alone (as `make run` calls it) loads workflow/profiles/default: keep-going lets
    warmstart finish although disentangle fails, and show-failed-logs prints the failed job's log."""
    config = copy.deepcopy(tiny_project_config)
    config["studies"]["disentangle"] = copy.deepcopy(toy_config()["studies"]["disentangle"])
    config["studies"]["disentangle"]["dataset"] = "fashion_mnist"  # not on disk (and in no package): the job fails
    project = make_project(tmp_path, config)
    result = run_snakemake(project, "--cores", "1", "results/tables/disentangle.csv", "results/tables/warmstart.csv")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Using workflow specific profile workflow/profiles/default" in output
    assert (project / "results/tables/warmstart.csv").exists()  # keep-going
    assert "train-images-idx3-ubyte" in output  # the failed job's log, printed (show-failed-logs)


def test_changed_config_does_not_resume_stale_checkpoints(tmp_path, tiny_project_config):
    project = make_project(tmp_path, tiny_project_config)
    target = "results/runs/warmstart/warm/seed=0/metrics.parquet"
    assert run_snakemake(project, "--cores", "1", target).returncode == 0
    changed = copy.deepcopy(tiny_project_config)
    changed["studies"]["warmstart"]["optimizer"]["lr"] = 3e-3
    make_project(project, changed)
    rerun = run_snakemake(project, "--cores", "1", target)  # params changed -> Snakemake re-runs the job
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = (project / "results/logs/warmstart/warm/seeds=0-1.log").read_text()
    assert "different run config" in log
    assert list((project / "results/runs/warmstart/warm/seed=0").glob("checkpoints.stale-*"))


def test_make_run_recovers_after_snakemake_is_killed_and_resumes_to_identical_metrics(tmp_path, finished_project):
    """A power loss (everything SIGKILLed mid-training) leaves Snakemake's lock: plain `snakemake`
    then stops; `make run` (unlock-stale, then snakemake) removes the stale lock, the killed job
    resumes from its checkpoints and ends with the metrics of an uninterrupted run."""
    project = make_project(tmp_path, only(toy_config(), "warmstart"))
    target = "results/tables/warmstart.csv"
    process = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1", target], cwd=project,
                               env=snakemake_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while not list((project / "results/runs").rglob("ckpt_*.pt")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # Snakemake and its running job, as a power loss would
    process.wait()
    assert list((project / ".snakemake/locks").glob("*.lock"))
    blocked = run_snakemake(project, "--cores", "1", target)
    assert blocked.returncode != 0 and "locked" in (blocked.stdout + blocked.stderr).lower()

    unlock = run_cli(project, "unlock-stale")
    assert unlock.returncode == 0 and "removed the lock" in unlock.stderr
    finished = run_snakemake(project, "--cores", "1", target)  # rerun-incomplete comes from the profile
    assert finished.returncode == 0, finished.stderr[-3000:]
    logs = "".join(p.read_text() for p in (project / "results/logs/warmstart").rglob("*.log"))
    assert "resuming from checkpoint" in logs
    for variant in ("warm", "fresh"):
        for seed in (0, 1):
            path = f"results/runs/warmstart/{variant}/seed={seed}/metrics.parquet"
            pd.testing.assert_frame_equal(pd.read_parquet(project / path), pd.read_parquet(finished_project / path),
                                          check_exact=True)
    assert run_cli(project, "unlock-stale").stderr == ""  # nothing left to remove
