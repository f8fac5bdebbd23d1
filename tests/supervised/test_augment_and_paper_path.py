"""The paper-scale code path (CIFAR files, ResNet-18, augmentation) on tiny data the test writes."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from plasticlab import config as cfg
from plasticlab import studies
from plasticlab.studies.base import RunSpec
from plasticlab.supervised.augment import crop_and_flip


def test_every_augmented_image_is_a_shifted_crop_or_its_mirror():
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6)
    out = crop_and_flip(images, torch.Generator().manual_seed(0), padding=2)
    padded = F.pad(images, (2, 2, 2, 2), mode="reflect")
    for i in range(2):
        candidates = [padded[i, :, dy : dy + 6, dx : dx + 6] for dy in range(5) for dx in range(5)]
        candidates += [c.flip(-1) for c in candidates]
        assert any(torch.equal(out[i], c) for c in candidates)
    again = crop_and_flip(images, torch.Generator().manual_seed(0), padding=2)
    assert torch.equal(out, again)


def _write_cifar10(directory, n=24, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), b"labels": list(rng.integers(0, 10, n))}
        (directory / name).write_bytes(pickle.dumps(batch))


def test_paper_config_trains_resnet18_with_augmentation_on_cifar_files(tmp_path, repo_root):
    _write_cifar10(tmp_path / "data" / "cifar-10-batches-py")
    paper = cfg.load_config(repo_root / "config/config.yaml", repo_root / "config/paper.yaml")
    paper["data_dir"] = str(tmp_path / "data")
    section = paper["studies"]["warmstart"]
    section["model"]["width"] = 4
    section["protocols"]["reference"].update({"base_epochs": 0.2, "batch_size": 32, "augment": True})  # 2 epochs, then 1 (at least one)
    run_config = cfg.run_config(paper, "warmstart", "hare_tortoise")
    assert run_config["protocol"]["augment"] is True and run_config["model"]["name"] == "resnet18"
    run = RunSpec("warmstart", "hare_tortoise", 0, run_config, tmp_path / "run")
    frame = studies.get("warmstart").train(run)
    ends = frame[(frame.phase == "task_end") & (frame.metric == "test_accuracy")]
    assert len(ends) == 2 and ends["value"].between(0, 1).all()
    assert isinstance(frame, pd.DataFrame) and (tmp_path / "run" / "checkpoints").is_dir()
