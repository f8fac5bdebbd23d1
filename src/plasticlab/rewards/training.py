"""Contrastive pre-training of a small CLIP on rendered scenes and their true captions.

Scenes are drawn fresh every step from a seeded generator (never the RL task's layouts), so the
data are unlimited and the run is a pure function of its config and seed. Training checkpoints
(model, optimiser, data-generator state, logged rows) through :mod:`plasticlab.runtime.checkpoint`
and a killed job resumes to identical results. AdamW with CLIP's β₂ = 0.98, ε = 1e-6, linear
warm-up then cosine decay, and ``logit_scale`` clipped at log 100 (Radford et al. 2021).
"""

from __future__ import annotations

import logging
import math
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from plasticlab.rewards.clip_model import CLIP, ClipConfig, preprocess
from plasticlab.rewards.contrastive import caption_accuracy, info_nce
from plasticlab.rewards.render import render_codes
from plasticlab.rewards.scenes import captions, sample_captioned_scenes
from plasticlab.rewards.tokenizers import Tokenizer, tokenize
from plasticlab.runtime.checkpoint import load_resumable_checkpoint, save_checkpoint

log = logging.getLogger(__name__)
MAX_LOGIT_SCALE = math.log(100.0)


@dataclass(frozen=True)
class SceneSpec:
    """How rooms look: ``grid × grid`` cells of ``cell_px`` pixels, ``objects`` per room."""

    grid: int = 5
    cell_px: int = 8
    objects: int = 4
    positive_fraction: float = 0.75


@dataclass(frozen=True)
class TrainingSpec:
    steps: int = 600
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 50
    log_every: int = 50
    checkpoint_every: int = 200
    eval_examples: int = 512


def model_config(size: dict[str, Any], scene: SceneSpec, tokenizer: Tokenizer, context_length: int) -> ClipConfig:
    """A model size from the config (``width``, ``layers``, ``embed_dim``, optional ``heads``) on
    frames of this scene; one patch per grid cell, as wide and deep in both towers."""
    return ClipConfig(embed_dim=int(size["embed_dim"]), image_resolution=scene.grid * scene.cell_px,
                      patch_size=scene.cell_px, vision_width=int(size["width"]), vision_layers=int(size["layers"]),
                      context_length=context_length, vocab_size=tokenizer.vocab_size, text_width=int(size["width"]),
                      text_layers=int(size["layers"]), vision_heads=int(size.get("heads", 0)),
                      text_heads=int(size.get("heads", 0)))


def learning_rate(spec: TrainingSpec, step: int) -> float:
    warm = min(1.0, (step + 1) / max(spec.warmup_steps, 1))
    return spec.lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / spec.steps))


def _batch(rng: np.random.Generator, count: int, scene: SceneSpec, config: ClipConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Preprocessed frames and caption indices (into :func:`captions`) of ``count`` fresh scenes."""
    codes, caption = sample_captioned_scenes(rng, count, scene.grid, scene.objects, scene.positive_fraction)
    return preprocess(render_codes(codes, scene.cell_px), config.image_resolution), torch.from_numpy(caption)


def train_clip(config: ClipConfig, tokenizer: Tokenizer, scene: SceneSpec, spec: TrainingSpec, seed: int,
               checkpoint_dir: Path, fingerprint: str, desc: str = "clip",
               crash_after_checkpoints: int | None = None, device: str = "cpu") -> tuple[CLIP, list[tuple[int, str, float]]]:
    """Train from scratch (or resume) and return the model and rows ``(step, metric, value)``:
    the mean InfoNCE loss of each logging interval and the held-out zero-shot caption accuracy.
    Scenes are drawn and rendered on the CPU; the model trains on ``device`` and is returned on the CPU."""
    torch.manual_seed(seed)
    model = CLIP(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(0.9, 0.98), eps=1e-6,
                                  weight_decay=spec.weight_decay)
    data_rng = np.random.default_rng([seed, 1])
    eval_images, eval_labels = _batch(np.random.default_rng([seed, 2]), spec.eval_examples, scene, config)
    eval_images, eval_labels = eval_images.to(device), eval_labels.to(device)
    caption_tokens = tokenize(tokenizer, captions(), config.context_length).to(device)
    rows: list[tuple[int, str, float]] = []
    losses: list[float] = []  # InfoNCE of the steps since the last logged row
    start = 0
    resumed = load_resumable_checkpoint(checkpoint_dir, fingerprint)
    if resumed is not None:
        start, state = resumed
        model.load_state_dict(state["model"])  # optimizer state follows the parameters' device
        optimizer.load_state_dict(state["optimizer"])
        data_rng.bit_generator.state = state["data_rng"]
        rows, losses = list(state["rows"]), list(state["losses"])
        log.info("%s: resuming contrastive training at step %d", desc, start)
    written = 0

    def evaluate(step: int, losses: list[float]) -> None:
        model.eval()
        with torch.no_grad():
            image = torch.nn.functional.normalize(model.encode_image(eval_images), dim=-1)
            text = torch.nn.functional.normalize(model.encode_text(caption_tokens), dim=-1)
        model.train()
        accuracy = caption_accuracy(image, text, eval_labels)
        rows.extend([(step, "contrastive_loss", float(np.mean(losses))), (step, "caption_accuracy", accuracy),
                     (step, "temperature", float(1.0 / model.logit_scale.detach().exp()))])
        log.info("%s step %d: InfoNCE %.3f, held-out caption accuracy %.3f", desc, step, np.mean(losses), accuracy)

    model.train()
    progress = tqdm(total=spec.steps, initial=start, desc=desc, unit="step", disable=None, mininterval=2.0)
    for step in range(start, spec.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(spec, step)
        images, caption = _batch(data_rng, spec.batch_size, scene, config)
        image, text, scale = model(images.to(device), caption_tokens[caption.to(device)])
        loss = info_nce(image, text, scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0.0, MAX_LOGIT_SCALE)
        losses.append(loss.item())
        progress.update(1)
        done = step + 1
        if done % spec.log_every == 0 or done == spec.steps:
            evaluate(done, losses)
            losses = []
        if done % spec.checkpoint_every == 0 or done == spec.steps:
            save_checkpoint(checkpoint_dir, done, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                                   "data_rng": data_rng.bit_generator.state, "rows": rows, "losses": losses,
                                                   "fingerprint": fingerprint})
            written += 1
            if crash_after_checkpoints is not None and written >= crash_after_checkpoints:
                log.warning("fault injection: killing this process after %d checkpoints", written)
                os.kill(os.getpid(), signal.SIGKILL)
    progress.close()
    return model.cpu().eval(), rows
