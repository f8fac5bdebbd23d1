"""Stale-lock recovery: remove a killed Snakemake's lock, never a live one."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from plasticlab.runtime.workflow_lock import WorkflowBusy, holders, is_holder_command, release_stale_lock


def _lock(directory: Path) -> Path:
    locks = directory / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x")
    (locks / "0.output.lock").write_text("y")
    return locks


@pytest.mark.parametrize("cmdline, expected", [
    (["/venv/bin/python", "/venv/bin/snakemake", "--cores", "2"], True),
    (["/venv/bin/python", "-m", "snakemake", "-n"], True),
    (["/venv/bin/python", "/venv/bin/plasticlab", "train", "qtd"], True),
    (["python", "-m", "plasticlab.cli", "train"], True),
    (["/home/u/plasticlab/.venv/bin/python", "-m", "pytest"], False),  # a checkout named plasticlab is not a holder
    (["/home/u/plasticlab/.venv/bin/jupyter", "lab"], False),
    (["bash"], False),
])
def test_holder_commands_are_snakemake_and_the_cli_only(cmdline, expected):
    assert is_holder_command(cmdline) is expected


def test_no_lock_means_nothing_to_do(tmp_path):
    assert release_stale_lock(tmp_path) == []


def test_stale_lock_is_removed(tmp_path):
    locks = _lock(tmp_path)
    removed = release_stale_lock(tmp_path)
    assert sorted(p.name for p in removed) == ["0.input.lock", "0.output.lock"]
    assert not list(locks.iterdir())


def test_a_live_snakemake_in_the_directory_keeps_its_lock(tmp_path):
    locks = _lock(tmp_path)
    fake = tmp_path / "bin" / "snakemake"  # a process whose command line is `python .../snakemake`
    fake.parent.mkdir()
    fake.write_text("import time\ntime.sleep(60)\n")
    process = subprocess.Popen([sys.executable, str(fake)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while not holders(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(WorkflowBusy, match=f"pid {process.pid}"):
            release_stale_lock(tmp_path)
        assert len(list(locks.iterdir())) == 2
        elsewhere = tmp_path / "other"
        _lock(elsewhere)
        assert len(release_stale_lock(elsewhere)) == 2  # a Snakemake in another directory does not count
    finally:
        process.kill()
        process.wait()
