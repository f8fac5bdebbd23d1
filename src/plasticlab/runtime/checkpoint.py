"""Step-numbered checkpoints with a checksum, written atomically, loaded with fallback.

A checkpoint file holds ``{"format", "sha256", "payload"}`` where ``payload`` is the
``torch.save`` bytes of the training state. The checksum catches truncated or corrupted files;
loading then falls back to the previous checkpoint with a warning instead of training from
garbage or crashing the job.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import torch

from plasticlab.runtime.atomic import write_bytes_atomic

FORMAT = "plasticlab-checkpoint/1"
_NAME = re.compile(r"^ckpt_(\d{9})\.pt$")
log = logging.getLogger(__name__)


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file exists but cannot be trusted (bad checksum, truncated, wrong format)."""


def checkpoint_path(directory: Path, position: int) -> Path:
    return Path(directory) / f"ckpt_{position:09d}.pt"


def save_checkpoint(directory: str | Path, position: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` as checkpoint number ``position`` and prune all but the newest ``keep``."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    envelope = io.BytesIO()
    torch.save({"format": FORMAT, "sha256": hashlib.sha256(payload).hexdigest(), "payload": payload}, envelope)
    path = checkpoint_path(Path(directory), position)
    write_bytes_atomic(path, envelope.getvalue())
    for old in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoint files in ``directory``, oldest first (temporary files are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if _NAME.match(p.name))


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load one checkpoint, verifying its checksum; raise CorruptCheckpointError if it fails."""
    path = Path(path)
    try:
        envelope = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # truncated zip, garbage bytes, ...
        raise CorruptCheckpointError(f"checkpoint {path} cannot be read: {error}") from error
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise CorruptCheckpointError(f"checkpoint {path} is not a {FORMAT} file")
    payload = envelope["payload"]
    if hashlib.sha256(payload).hexdigest() != envelope["sha256"]:
        raise CorruptCheckpointError(f"checkpoint {path} fails its checksum (corrupted)")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)


def load_latest_checkpoint(directory: str | Path) -> tuple[int, dict[str, Any]] | None:
    """The newest readable checkpoint as ``(position, state)``, or None if there is none.

    Corrupt files are skipped with a warning (and renamed ``*.corrupt`` so they are kept for
    inspection but never picked again).
    """
    for path in reversed(list_checkpoints(directory)):
        try:
            state = read_checkpoint(path)
        except CorruptCheckpointError as error:
            log.warning("%s; falling back to the previous checkpoint", error)
            path.rename(path.with_suffix(".corrupt"))
            continue
        return int(_NAME.match(path.name).group(1)), state
    return None


def run_fingerprint(run: Any) -> str:
    """Hash of what a run's checkpoints depend on (config and seed): resuming a run whose
    config has changed would silently mix two experiments."""
    blob = json.dumps({"config": run.config, "seed": run.seed, "study": run.study}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def set_aside_stale_checkpoints(directory: str | Path, fingerprint: str | None) -> Path:
    """Move checkpoints of another config out of the way (kept, never deleted)."""
    directory = Path(directory)
    target = directory.with_name(f"{directory.name}.stale-{fingerprint or 'unknown'}")
    suffix = 0
    while target.exists():
        suffix += 1
        target = directory.with_name(f"{directory.name}.stale-{fingerprint or 'unknown'}-{suffix}")
    directory.rename(target)
    return target


def load_resumable_checkpoint(directory: str | Path, fingerprint: str) -> tuple[int, dict[str, Any]] | None:
    """The newest readable checkpoint written by *this* run config, or None.

    Checkpoints of another config (a changed run fingerprint) are set aside, kept, with a
    warning, and never resumed: resuming them would silently mix two experiments.
    """
    resumed = load_latest_checkpoint(directory)
    if resumed is not None and resumed[1].get("fingerprint") != fingerprint:
        stale = set_aside_stale_checkpoints(directory, resumed[1].get("fingerprint"))
        log.warning("checkpoints in %s belong to a different run config; kept them in %s and started fresh",
                    directory, stale)
        return None
    return resumed
