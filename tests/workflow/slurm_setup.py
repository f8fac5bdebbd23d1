"""Getting the SLURM test's software in the background from the start of the session.

Installing Debian's slurm-wlm/munge and the executor plugin is mostly waiting on the network (tens
of seconds on a fresh machine). The conftest starts :func:`start` as soon as collection shows that
the SLURM test will run, so that waiting overlaps the CPU-bound tests before it; the fixtures then
:func:`wait` for the result (or do the work themselves if nothing was started).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "slurm_localhost.sh"
PLUGINS = ["snakemake-executor-plugin-slurm==2.8.0", "snakemake-executor-plugin-slurm-jobstep==0.6.1"]

_thread: threading.Thread | None = None
_result: dict = {}


def skip_reason() -> str | None:
    if sys.platform != "linux" or os.geteuid() != 0:
        return "needs root on Linux to install and start slurmctld/slurmd/munged"
    if shutil.which("apt-get") is None:
        return "needs apt-get to install Debian's slurm-wlm and munge"
    if os.path.exists("/etc/slurm/slurm.conf"):
        return "a SLURM is configured on this machine already (/etc/slurm/slurm.conf)"
    return None


def installed() -> bool:
    return all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue"))


def _prepare() -> dict:
    """apt packages (if missing) and the plugin in a scratch directory: skip reasons or paths. Every
    pytest-xdist worker collects the SLURM test and starts this; a lock file lets one install the
    packages while the others wait for it (two apt-get runs would fight over dpkg's lock)."""
    result: dict = {"timings": {}}
    started = time.monotonic()
    with open(Path(tempfile.gettempdir()) / "plasticlab-slurm-setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _install_packages(result)
    result["timings"]["apt"] = time.monotonic() - started
    if "skip" in result or "error" in result:
        return result
    target = Path(tempfile.mkdtemp(prefix="plasticlab-slurm-plugin-"))
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                          *PLUGINS], capture_output=True, text=True, timeout=600)
    if pip.returncode != 0:
        result["skip"] = f"cannot install the SLURM executor plugin from the package index: {pip.stderr[-300:]}"
    result["plugin"] = target
    result["timings"]["plugin"] = time.monotonic() - started
    return result


def _install_packages(result: dict) -> None:
    """Debian's slurm-wlm and munge unless present; a failure is recorded in ``result``."""
    if installed():
        return
    update = subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, timeout=300)
    if update.returncode != 0 or "Err:" in update.stdout:
        result["skip"] = f"no network to the apt repositories: {(update.stdout + update.stderr)[-300:]}"
        return
    install = subprocess.run([str(SCRIPT), "install"], capture_output=True, text=True, timeout=900)
    if install.returncode != 0:
        result["error"] = install.stderr[-3000:]


def start() -> None:
    global _thread
    if _thread is None and skip_reason() is None:
        _thread = threading.Thread(target=lambda: _result.update(_prepare()), daemon=True, name="slurm-setup")
        _thread.start()


def wait() -> dict:
    start()
    if _thread is not None:
        _thread.join()
    return _result


def cleanup() -> None:
    if "plugin" in _result:
        shutil.rmtree(_result["plugin"], ignore_errors=True)
