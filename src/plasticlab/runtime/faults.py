"""Fault injection for the tests: kill this process at a named point (``PLASTICLAB_KILL_AT``).

``PLASTICLAB_KILL_AT=write:<file name>`` sends SIGKILL to the process once a result file of that
name is fully written to its temporary path but not yet renamed into place: the worst moment
for a job to die. The workflow tests use it to check that no final output survives a kill in
any phase (train, probe, aggregate). Unset, this module does nothing.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "PLASTICLAB_KILL_AT"


def kill_if_requested(point: str) -> None:
    if os.environ.get(VARIABLE) == point:
        os.kill(os.getpid(), signal.SIGKILL)
