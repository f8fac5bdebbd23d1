"""Recovering from a killed Snakemake run: remove its lock only when nothing still runs here.

Snakemake locks the working directory while it runs and removes the lock when it exits. A run
killed with SIGKILL (or a power loss) leaves the lock behind, and the next ``snakemake`` stops
with a LockException although nothing holds the directory any more. ``make run`` calls
:func:`release_stale_lock` first: if no Snakemake process, and no job a killed Snakemake left
running, works in this directory, the lock is stale and is removed (what ``snakemake --unlock``
does); otherwise it stops and names the process, because a second run beside a live one would
write the same files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil

LOCK_DIR = Path(".snakemake") / "locks"
# Command-line words of the processes that may hold a workflow directory: Snakemake itself and the
# jobs it starts (the `plasticlab` CLI), which survive their Snakemake when it is SIGKILLed.
HOLDERS = ("snakemake", "plasticlab")


class WorkflowBusy(RuntimeError):
    """A live process works in the directory: its lock is not stale."""


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str


def lock_files(directory: Path) -> list[Path]:
    return sorted((directory / LOCK_DIR).glob("*.lock"))


def _ancestors() -> set[int]:
    """This process and its parents (``make run`` → this command must not count as a holder)."""
    pids, process = set(), psutil.Process(os.getpid())
    while process is not None:
        pids.add(process.pid)
        process = process.parent()
    return pids


def is_holder_command(cmdline: list[str]) -> bool:
    """``snakemake ...``, ``plasticlab ...``, or ``python -m snakemake|plasticlab.cli ...``."""
    if any(os.path.basename(part) in HOLDERS for part in cmdline[:2]):
        return True
    if "-m" in cmdline[:3] and cmdline.index("-m") + 1 < len(cmdline):
        return cmdline[cmdline.index("-m") + 1].split(".")[0] in HOLDERS
    return False


def holders(directory: Path) -> list[Holder]:
    """Live Snakemake or ``plasticlab`` processes whose working directory is ``directory``."""
    target, skip, found = Path(directory).resolve(), _ancestors(), []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.pid in skip or not process.info["cmdline"]:
                continue
            if is_holder_command(process.info["cmdline"]) and Path(process.cwd()).resolve() == target:
                found.append(Holder(process.pid, " ".join(process.info["cmdline"])))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def release_stale_lock(directory: str | Path = ".") -> list[Path]:
    """Remove a killed run's lock files; returns them (empty when there was no lock).

    Raises :class:`WorkflowBusy` naming the process when the lock may be live.
    """
    directory = Path(directory)
    locks = lock_files(directory)
    if not locks:
        return []
    busy = holders(directory)
    if busy:
        names = "; ".join(f"pid {h.pid}: {h.command[:120]}" for h in busy)
        raise WorkflowBusy(f"{directory.resolve()} is locked and still in use ({names}); wait for it to finish "
                           f"or stop it, then run again")
    for lock in locks:
        lock.unlink(missing_ok=True)
    return locks
