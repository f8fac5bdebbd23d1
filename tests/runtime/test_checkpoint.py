"""Checkpoints: atomic, checksummed, pruned, and corrupt files fall back to the previous one."""

from __future__ import annotations

import hashlib
import io
import logging
import subprocess
import sys

import numpy as np
import pytest
import torch

from plasticlab.runtime.checkpoint import (
    FORMAT,
    CorruptCheckpointError,
    list_checkpoints,
    load_latest_checkpoint,
    read_checkpoint,
    save_checkpoint,
)


def test_round_trip_preserves_tensors_exactly(tmp_path):
    state = {"w": torch.randn(5, 3), "step": 7, "rows": [(0, 1, 2, "epoch", "loss", 0.5)]}
    path = save_checkpoint(tmp_path, 7, state)
    loaded = read_checkpoint(path)
    assert torch.equal(loaded["w"], state["w"])
    assert loaded["step"] == 7 and loaded["rows"] == state["rows"]


def test_keeps_only_newest_and_ignores_temporaries(tmp_path):
    for step in (1, 5, 9):
        save_checkpoint(tmp_path, step, {"step": step}, keep=2)
    (tmp_path / ".ckpt_000000010.pt.abc.tmp").write_bytes(b"partial")
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt_000000005.pt", "ckpt_000000009.pt"]
    position, state = load_latest_checkpoint(tmp_path)
    assert position == 9 and state["step"] == 9


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_latest_falls_back_with_warning(tmp_path, caplog, damage):
    save_checkpoint(tmp_path, 1, {"step": 1})
    latest = save_checkpoint(tmp_path, 2, {"step": 2, "w": torch.ones(1000)})
    data = bytearray(latest.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:  # flip bytes inside the payload, keeping the container readable
        middle = len(data) // 2
        data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    latest.write_bytes(bytes(data))
    with pytest.raises(CorruptCheckpointError):
        read_checkpoint(latest)
    with caplog.at_level(logging.WARNING):
        position, state = load_latest_checkpoint(tmp_path)
    assert position == 1 and state["step"] == 1
    assert "falling back" in caplog.text
    assert latest.with_suffix(".corrupt").exists()  # kept for inspection, never picked again


def test_no_checkpoint_directory_means_fresh_start(tmp_path):
    assert load_latest_checkpoint(tmp_path / "missing") is None


def test_numpy_arrays_come_back_as_arrays_of_their_dtype(tmp_path):
    """Replays are NumPy arrays, saved as tensors sharing their memory and restored as arrays."""
    rng = np.random.default_rng(0)
    state = {"replay": {"frames": rng.integers(0, 255, (6, 1, 4, 4), dtype=np.uint8), "valid": np.array([True, False]),
                        "action": np.arange(3, dtype=np.int64), "reward": rng.random(3).astype(np.float32),
                        "strided": np.arange(12.0).reshape(3, 4)[:, ::2]},
             "rng": ("MT19937", np.arange(4, dtype=np.uint32), 2, 0, 0.0), "rows": [(1, "eval", 0.5)]}
    loaded = read_checkpoint(save_checkpoint(tmp_path, 1, state))
    for name, array in state["replay"].items():
        assert isinstance(loaded["replay"][name], np.ndarray) and loaded["replay"][name].dtype == array.dtype
        assert np.array_equal(loaded["replay"][name], array)
    assert isinstance(loaded["rng"], tuple) and np.array_equal(loaded["rng"][1], state["rng"][1])
    assert loaded["rows"] == state["rows"]


def test_format_1_checkpoints_are_still_read(tmp_path):
    """The envelope written before format 2 ({format, sha256, payload}) resumes as before."""
    buffer = io.BytesIO()
    torch.save({"step": 3, "w": torch.arange(4)}, buffer)
    payload = buffer.getvalue()
    path = tmp_path / "ckpt_000000003.pt"
    torch.save({"format": FORMAT, "sha256": hashlib.sha256(payload).hexdigest(), "payload": payload}, path)
    position, state = load_latest_checkpoint(tmp_path)
    assert position == 3 and state["step"] == 3 and torch.equal(state["w"], torch.arange(4))
    torch.save({"format": FORMAT, "sha256": "0" * 64, "payload": payload}, path)
    with pytest.raises(CorruptCheckpointError, match="checksum"):
        read_checkpoint(path)


def test_writing_a_replay_holds_no_second_copy_of_it(tmp_path):
    """Peak memory while a 200 MB array is checkpointed, measured in a fresh process (format 1
    needed six times the array, a 1M-frame Atari replay 48 GB at every checkpoint)."""
    script = (
        "import resource, sys, numpy as np\n"
        "from plasticlab.runtime.checkpoint import save_checkpoint\n"
        "frames = np.ones((200, 1000, 1000), np.uint8)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "save_checkpoint(sys.argv[1], 1, {'replay': {'frames': frames}})\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) < 50  # MB over the array itself
