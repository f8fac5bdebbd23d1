"""Preemption: SIGTERM and SIGUSR1 stop a run at its next safe point, with a checkpoint.

SLURM sends SIGTERM when it preempts or cancels a job and at its time limit (SIGKILL follows
after ``KillWait``, 30 s by default); with ``--signal=USR1@<seconds>`` it sends SIGUSR1 that long
before the limit. Either signal asks the run to stop:

* inside :func:`safe_points` (the training loops of the supervised trainer and the agent loop)
  the handler only records the signal; the loop writes a checkpoint at its next safe point (an
  epoch end, an episode end) and raises :class:`Preempted`;
* anywhere else (start-up, probe, aggregate, plot, the tabular studies, which keep no
  checkpoints) the handler raises :class:`Preempted` at once; nothing half-written survives,
  because every result file is written atomically.

The CLI turns :class:`Preempted` into exit code :data:`EXIT_PREEMPTED` (75, ``EX_TEMPFAIL``),
so Snakemake counts the job as failed, deletes its declared outputs and, with ``retries`` set
(the SLURM profile), runs it again; the retry resumes from the checkpoint to the same result.
"""

from __future__ import annotations

import logging
import signal
from contextlib import contextmanager
from typing import Iterator

EXIT_PREEMPTED = 75  # EX_TEMPFAIL from sysexits.h: "try again later"
SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
log = logging.getLogger(__name__)

_requested: int | None = None
_deferring = False


class Preempted(Exception):
    """The run was asked to stop by ``signum``; a checkpoint (if the run keeps any) is written."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def _handle(signum: int, frame: object) -> None:
    global _requested
    _requested = signum
    if not _deferring:
        raise Preempted(signum)
    # No logging here: a handler that takes the logging lock can deadlock the thread it interrupted.


def install() -> None:
    """Route SIGTERM and SIGUSR1 to the preemption handler (main thread only, as Python requires)."""
    global _requested
    _requested = None
    for signum in SIGNALS:
        signal.signal(signum, _handle)


@contextmanager
def safe_points() -> Iterator[None]:
    """Inside this block (or decorated function) a signal is only recorded; the loop calls
    :func:`stop_if_requested` at its safe points, right after writing a checkpoint."""
    global _deferring
    previous, _deferring = _deferring, True
    try:
        yield
    finally:
        _deferring = previous


def requested() -> bool:
    """Whether a stop signal arrived (the loop then checkpoints at its next safe point)."""
    return _requested is not None


def stop_if_requested(where: str) -> None:
    """Raise :class:`Preempted` if a stop signal arrived; call right after a checkpoint."""
    if _requested is not None:
        log.warning("%s received: checkpoint written at %s; exiting with code %d so the job is retried",
                    signal.Signals(_requested).name, where, EXIT_PREEMPTED)
        raise Preempted(_requested)
