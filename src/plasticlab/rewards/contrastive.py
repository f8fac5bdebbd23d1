"""The symmetric InfoNCE loss of CLIP and the retrieval accuracy it optimises.

For a batch of N matching (image, text) pairs with unit-norm embeddings, logits = s · I Tᵀ with
s = exp(logit_scale); the loss is the mean of the cross-entropies of each image against all texts
and of each text against all images, the matching pair being the target (Radford et al. 2021, Fig. 3).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """Symmetric InfoNCE of unit-norm ``image`` and ``text`` embeddings ``(N, D)``, pairs on the diagonal."""
    logits = scale * image @ text.T
    target = torch.arange(len(image), device=image.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


@torch.no_grad()
def caption_accuracy(image: torch.Tensor, caption_embeddings: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of images whose most similar caption (among the distinct captions) is their own:
    zero-shot classification accuracy, unaffected by repeated captions in a batch."""
    return float(((image @ caption_embeddings.T).argmax(dim=1) == labels).float().mean())
