"""Contrastive training learns (loss falls, zero-shot captions beat chance) and resumes exactly."""

from __future__ import annotations

import os

import pytest
import torch

from plasticlab.rewards.scenes import caption_vocabulary, captions
from plasticlab.rewards.tokenizers import WordTokenizer
from plasticlab.rewards.training import SceneSpec, TrainingSpec, model_config, train_clip

SCENE = SceneSpec(grid=3, cell_px=6, objects=2)
SPEC = TrainingSpec(steps=80, batch_size=32, lr=3e-3, warmup_steps=5, log_every=40, checkpoint_every=40, eval_examples=256)


def _train(tmp_path, name, **kwargs):
    tokenizer = WordTokenizer(caption_vocabulary())
    config = model_config({"width": 16, "layers": 1, "embed_dim": 16}, SCENE, tokenizer, 10)
    return train_clip(config, tokenizer, SCENE, SPEC, seed=0, checkpoint_dir=tmp_path / name, fingerprint="f", **kwargs)


def test_training_reduces_the_loss_and_beats_chance(tmp_path):
    model, rows = _train(tmp_path, "a")
    loss = [v for _, m, v in rows if m == "contrastive_loss"]
    accuracy = [v for _, m, v in rows if m == "caption_accuracy"]
    assert [s for s, m, _ in rows if m == "contrastive_loss"] == [40, 80]
    assert loss[0] > loss[-1] + 0.3  # log 32 ≈ 3.47 at chance
    assert accuracy[-1] > 3 / len(captions())  # well above chance among the distinct captions
    assert not model.training and next(model.parameters()).device.type == "cpu"


def test_a_killed_training_resumes_to_identical_results(tmp_path, monkeypatch):
    reference, reference_rows = _train(tmp_path, "uninterrupted")

    class Killed(Exception):
        pass

    def kill(pid, sig):
        raise Killed

    monkeypatch.setattr(os, "kill", kill)
    with pytest.raises(Killed):
        _train(tmp_path, "resumed", crash_after_checkpoints=1)
    monkeypatch.undo()
    resumed, rows = _train(tmp_path, "resumed")
    assert rows == reference_rows
    for a, b in zip(resumed.state_dict().values(), reference.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
