"""Checkpoints: atomic, checksummed, pruned, and corrupt files fall back to the previous one."""

from __future__ import annotations

import logging

import pytest
import torch

from plasticlab.runtime.checkpoint import (
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
