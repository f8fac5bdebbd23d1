"""Provenance records: what produced a result file (config, seed, code version, packages, host)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import plasticlab

PACKAGES = ("plasticlab", "torch", "numpy", "pandas", "pyarrow", "scikit-learn", "scipy", "matplotlib", "snakemake", "dvc")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any]:
    """Commit and dirtiness of the source checkout this package runs from (None outside git)."""
    root = Path(plasticlab.__file__).resolve().parents[2]
    candidates = [Path.cwd(), root]
    for where in candidates:
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=where, capture_output=True, text=True, timeout=10, check=True,
            ).stdout.strip()
            return {"commit": commit, "dirty": bool(dirty)}
        except (OSError, subprocess.SubprocessError):
            continue
    return {"commit": None, "dirty": None}


def device_description(device: str) -> str:
    """The device a result was computed on; a process that never loaded torch ran on the CPU."""
    torch = sys.modules.get("torch")
    if torch is None:
        return f"cpu ({platform.processor() or platform.machine()})"
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


CONFIG_FILES_VARIABLE = "PLASTICLAB_CONFIG_FILES"  # set by the workflow (plasticlab.workflow_plan.record_config_files)


def config_files() -> list[dict[str, str | None]]:
    """The config files the workflow merged for this job, in order, each with its sha256 (None
    if unreadable here): a paper-scale result then never looks as if it came from the default."""
    listed = [path for path in os.environ.get(CONFIG_FILES_VARIABLE, "").split(os.pathsep) if path]
    files = []
    for path in listed:
        try:
            digest: str | None = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
        except OSError:
            digest = None
        files.append({"path": path, "sha256": digest})
    return files


def slurm_allocation() -> dict[str, str] | None:
    """The SLURM job this process runs in (job id, CPUs per task, GPUs), None outside SLURM."""
    keys = {"job_id": "SLURM_JOB_ID", "cpus_per_task": "SLURM_CPUS_PER_TASK", "gpus": "SLURM_GPUS_ON_NODE",
            "partition": "SLURM_JOB_PARTITION"}
    if "SLURM_JOB_ID" not in os.environ:
        return None
    return {name: os.environ[variable] for name, variable in keys.items() if variable in os.environ}


def provenance(config: dict[str, Any] | None = None, seed: int | None = None, device: str = "cpu", **extra: Any) -> dict[str, Any]:
    """A JSON-serialisable provenance record for one result file."""
    record: dict[str, Any] = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "config_files": config_files(),
        "seed": seed,
        "git": git_state(),
        "packages": package_versions(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "device": device_description(device),
        "pid": os.getpid(),
        "slurm": slurm_allocation(),
    }
    record.update(extra)
    return record
