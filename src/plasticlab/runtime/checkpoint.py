"""Step-numbered checkpoints with a checksum, written atomically, loaded with fallback.

A checkpoint file (format 2) is one header line ``plasticlab-checkpoint/2 <sha256>`` followed by
the ``torch.save`` stream of the training state; the checksum covers the stream. It catches
truncated or corrupted files; loading then falls back to the previous checkpoint with a warning
instead of training from garbage or crashing the job.

Memory: the state is streamed to the file (hashed on the way) and read back through a view of the
file, never held as a second in-memory copy; NumPy arrays (replay buffers) are saved as tensors
sharing their memory, so ``torch.save`` does not pickle them into bytes. Writing a 477 MB replay
this way peaks at a few MB over the replay itself, where format 1 (``{"format", "sha256",
"payload"}`` with the ``torch.save`` bytes as payload, still readable) peaked at +2.9 GB (six
copies): a 1M-frame Atari replay (7 GB) would have needed 48 GB at every checkpoint.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from plasticlab.runtime.atomic import atomic_path

FORMAT = "plasticlab-checkpoint/1"  # the envelope of format 1 (read only)
HEADER = b"plasticlab-checkpoint/2 "
_DIGEST_LENGTH = 64
_CHUNK = 1 << 24
_NAME = re.compile(r"^ckpt_(\d{9})\.pt$")
log = logging.getLogger(__name__)


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file exists but cannot be trusted (bad checksum, truncated, wrong format)."""


def checkpoint_path(directory: Path, position: int) -> Path:
    return Path(directory) / f"ckpt_{position:09d}.pt"


class _NumpyArray:
    """A NumPy array saved as the tensor sharing its memory (turned back into an array on load)."""

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor


def _map_leaves(value: Any, convert: Any) -> Any:
    """``convert`` applied to every leaf of nested dicts, lists and tuples (their types kept)."""
    if isinstance(value, dict):
        return {key: _map_leaves(item, convert) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_map_leaves(item, convert) for item in value)
    return convert(value)


def _array_as_tensor(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return _NumpyArray(torch.from_numpy(np.ascontiguousarray(value)))
    return value


def _tensor_as_array(value: Any) -> Any:
    return value.tensor.numpy() if isinstance(value, _NumpyArray) else value


class _HashingWriter:
    """A write-only file that hashes what passes through it (``torch.save`` streams into it)."""

    def __init__(self, handle: Any):
        self.handle, self.digest = handle, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


class _Window(io.RawIOBase):
    """The part of a file after ``offset``, as a file of its own (``torch.load`` reads the stream in place)."""

    def __init__(self, handle: Any, offset: int):
        self.handle, self.offset = handle, offset
        self.handle.seek(offset)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self.handle.readinto(buffer)

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position += self.offset
        return self.handle.seek(position, whence) - self.offset

    def tell(self) -> int:
        return self.handle.tell() - self.offset


def save_checkpoint(directory: str | Path, position: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` as checkpoint number ``position`` and prune all but the newest ``keep``."""
    path = checkpoint_path(Path(directory), position)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(HEADER + b"0" * _DIGEST_LENGTH + b"\n")
        stream = _HashingWriter(handle)
        torch.save(_map_leaves(state, _array_as_tensor), stream)
        handle.seek(len(HEADER))
        handle.write(stream.digest.hexdigest().encode())
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
    with open(path, "rb") as handle:
        if handle.read(len(HEADER)) == HEADER:
            return _read_format_2(path, handle)
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


def _read_format_2(path: Path, handle: Any) -> dict[str, Any]:
    expected = handle.read(_DIGEST_LENGTH + 1)[:-1].decode("ascii", errors="replace")
    start = handle.tell()
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    if digest.hexdigest() != expected:
        raise CorruptCheckpointError(f"checkpoint {path} fails its checksum (corrupted or truncated)")
    try:
        state = torch.load(io.BufferedReader(_Window(handle, start)), map_location="cpu", weights_only=False)
    except Exception as error:
        raise CorruptCheckpointError(f"checkpoint {path} cannot be read: {error}") from error
    return _map_leaves(state, _tensor_as_array)


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
