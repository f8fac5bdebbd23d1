"""The command line: listing studies and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plasticlab.cli", *args], capture_output=True, text=True, timeout=120)


def test_studies_lists_warmstart_with_its_paper():
    result = _cli("studies")
    assert result.returncode == 0
    assert "warmstart" in result.stdout and "Ash & Adams" in result.stdout


def test_unknown_study_is_a_clear_error(repo_root):
    result = _cli("train", "nosuch", "--variant", "warm", "--seed", "0", "--config", str(repo_root / "config/config.yaml"))
    assert result.returncode == 2
    assert "unknown study 'nosuch'" in result.stderr and "warmstart" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_dataset_names_the_directory(tmp_path):
    import json

    run_config = {"dataset": "mnist", "data_dir": str(tmp_path / "nowhere"), "model": {"name": "mlp", "hidden": [8]},
                  "protocol": {"chunks": 2}, "interventions": "none", "variant": "warm"}
    result = _cli("train", "warmstart", "--variant", "warm", "--seed", "0", "--run-config", json.dumps(run_config),
                  "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "nowhere" in result.stderr and "train-images-idx3-ubyte" in result.stderr
    assert not (tmp_path / "run" / "metrics.parquet").exists()


def test_an_unexpected_error_reaches_the_log_file_with_its_traceback(tmp_path, monkeypatch):
    """A rule's log is the file a user reads when a job fails: it must hold the traceback too."""
    from plasticlab import cli, studies

    def broken(run, **options):
        raise RuntimeError("the dataloader exploded")

    monkeypatch.setattr(studies.get("qtd"), "train", broken)
    log = tmp_path / "job.log"
    code = cli.main(["--log", str(log), "train", "qtd", "--variant", "chain", "--seed", "0",
                     "--run-config", "{}", "--out", str(tmp_path / "run")])
    text = log.read_text()
    assert code == 1
    assert "Traceback" in text and "RuntimeError: the dataloader exploded" in text and "train qtd failed" in text


def test_several_seeds_run_in_one_process_each_into_its_own_directory(tmp_path, tiny_config):
    import json

    from plasticlab import cli
    from plasticlab import config as cfg

    run_config = cfg.run_config(tiny_config, "warmstart", "warm")
    code = cli.main(["train", "warmstart", "--variant", "warm", "--seed", "0", "1", "--run-config", json.dumps(run_config),
                     "--variant-dir", str(tmp_path / "warm")])
    assert code == 0
    alone = tmp_path / "alone"
    assert cli.main(["train", "warmstart", "--variant", "warm", "--seed", "1", "--run-config", json.dumps(run_config),
                     "--out", str(alone)]) == 0
    import pandas as pd

    for seed in (0, 1):
        record = json.loads((tmp_path / "warm" / f"seed={seed}" / "run.json").read_text())
        assert record["seed"] == seed
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "warm" / "seed=1" / "metrics.parquet"),
                                  pd.read_parquet(alone / "metrics.parquet"), check_exact=True)
