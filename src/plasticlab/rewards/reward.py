"""Rewards from a vision-language model (Baumli et al. 2023, Eq. 1-2), and how good they are.

p(l | o) = exp(s·cos(o, l)) / Σ_{l' ∈ {l} ∪ negatives} exp(s·cos(o, l')), with s = exp(logit_scale)
the model's own inverse temperature; the reward is 1[p ≥ β]. Negatives are fixed neutral prompts
plus, by default, the task's other goals. A reward model is built by name from a registry, so the
study can score models it trained and CLIP checkpoints from disk through one code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from plasticlab.rewards.clip_io import load_clip
from plasticlab.rewards.clip_model import CLIP, preprocess
from plasticlab.registry import Registry
from plasticlab.rewards.tokenizers import Tokenizer, build_tokenizer, tokenize

REWARD_MODELS: Registry[Callable[..., "RewardModel"]] = Registry("reward model")


def goal_probabilities(image: torch.Tensor, goals: torch.Tensor, negatives: torch.Tensor, scale: float,
                       other_goals_as_negatives: bool = True) -> torch.Tensor:
    """p(goal g | image n) ``(N, G)`` from unit-norm embeddings: image ``(N, D)``, goals ``(G, D)``,
    negatives ``(K, D)`` (K may be 0)."""
    goal_logits = scale * image @ goals.T  # (N, G)
    negative_logits = scale * image @ negatives.T  # (N, K)
    if other_goals_as_negatives:
        # the softmax for goal g runs over all goals and the negatives: one normaliser per image
        normaliser = torch.logsumexp(torch.cat([goal_logits, negative_logits], dim=1), dim=1, keepdim=True)
        return (goal_logits - normaliser).exp()
    pairs = torch.stack([goal_logits, negative_logits.logsumexp(dim=1, keepdim=True).expand_as(goal_logits)], dim=-1)
    return (goal_logits - torch.logsumexp(pairs, dim=-1)).exp()


def binary_reward(probabilities: np.ndarray | torch.Tensor, threshold: float) -> np.ndarray:
    """The paper's reward 1[p ≥ β]."""
    return (np.asarray(probabilities) >= threshold).astype(np.float64)


@dataclass
class RewardModel:
    """A CLIP model and its tokenizer, applied to rendered frames and goal texts."""

    model: CLIP
    tokenizer: Tokenizer

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        if not texts:
            return torch.zeros(0, self.model.config.embed_dim)
        tokens = tokenize(self.tokenizer, texts, self.model.config.context_length)
        return F.normalize(self.model.encode_text(tokens), dim=-1)

    @torch.no_grad()
    def embed_frames(self, frames: np.ndarray, batch_size: int = 256) -> torch.Tensor:
        chunks = [self.model.encode_image(preprocess(frames[i : i + batch_size], self.model.config.image_resolution))
                  for i in range(0, len(frames), batch_size)]
        return F.normalize(torch.cat(chunks), dim=-1)

    def probabilities(self, frames: np.ndarray, goals: Sequence[str], negatives: Sequence[str],
                      other_goals_as_negatives: bool = True) -> np.ndarray:
        """p(goal | frame) ``(frames, goals)``."""
        scale = float(self.model.logit_scale.detach().exp())
        return goal_probabilities(self.embed_frames(frames), self.embed_texts(goals), self.embed_texts(negatives),
                                  scale, other_goals_as_negatives).numpy()


register_reward_model = REWARD_MODELS.register


def build_reward_model(spec: dict[str, Any]) -> RewardModel:
    """``{name: <registered>, ...its options}`` → a reward model."""
    return REWARD_MODELS.build(spec)


@register_reward_model("clip_checkpoint")
def clip_checkpoint(path: str, tokenizer: dict[str, Any], heads: int = 0, activation: str = "quick_gelu") -> RewardModel:
    """A CLIP ViT state dict on disk (ours or open_clip/OpenAI's) with its tokenizer
    (``{name: word, path: vocab.json}`` or ``{name: clip_bpe, path: bpe_simple_vocab_16e6.txt.gz}``)."""
    model = load_clip(path, vision_heads=heads, text_heads=heads, activation=activation)
    text_tokenizer = build_tokenizer(tokenizer)
    if text_tokenizer.vocab_size != model.config.vocab_size:
        raise ValueError(f"tokenizer has {text_tokenizer.vocab_size} tokens but the checkpoint {path} embeds "
                         f"{model.config.vocab_size}: they do not belong together")
    return RewardModel(model, text_tokenizer)


def classification_scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 and accuracy of binary rewards against the ground truth (precision of
    no positive prediction is taken as 1: no false reward was given)."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    tp = float((truth & predicted).sum())
    precision = tp / predicted.sum() if predicted.any() else 1.0
    recall = tp / truth.sum() if truth.any() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": float((truth == predicted).mean())}


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve = P(score of a random positive > that of a random negative), ties ½
    (Mann–Whitney U with mid-ranks)."""
    from scipy.stats import rankdata

    truth = np.asarray(truth, bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("ROC-AUC needs both positive and negative examples")
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))
