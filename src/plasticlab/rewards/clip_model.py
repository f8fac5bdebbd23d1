"""A CLIP-style dual encoder (Radford et al. 2021) whose parameter names are those of the
OpenAI / open_clip ViT checkpoints, so the models trained here and real CLIP weights load through
the same code (:mod:`plasticlab.rewards.clip_io`).

Image: patch convolution → [class token; patches] + positions → pre-LN transformer → LN of the
class token → linear projection. Text: token + position embeddings → causal transformer → LN →
the feature at the EOT token (the argmax of the ids) → linear projection. ``logit_scale`` is the
log inverse temperature of the contrastive softmax, learned (initialised at log(1/0.07)).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MEAN = (0.48145466, 0.4578275, 0.40821073)  # CLIP's image normalisation
STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class ClipConfig:
    """Architecture sizes; every field can be read off a checkpoint's tensor shapes except the head
    counts (OpenAI's convention: width // 64, at least 1) and the activation."""

    embed_dim: int
    image_resolution: int
    patch_size: int
    vision_width: int
    vision_layers: int
    context_length: int
    vocab_size: int
    text_width: int
    text_layers: int
    vision_heads: int = 0  # 0: the convention max(1, width // 64)
    text_heads: int = 0
    activation: str = "quick_gelu"  # OpenAI's weights; open_clip's own trainings use "gelu"

    def heads(self, width: int, given: int) -> int:
        return given or max(1, width // 64)

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


class QuickGELU(nn.Module):
    """x · σ(1.702 x): the activation the OpenAI CLIP weights were trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


ACTIVATIONS = {"quick_gelu": QuickGELU, "gelu": nn.GELU}


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int, activation: str) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by {heads} heads")
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict(c_fc=nn.Linear(width, 4 * width), gelu=ACTIVATIONS[activation](),
                                             c_proj=nn.Linear(4 * width, width)))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, activation: str) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(width, heads, activation) for _ in range(layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, config: ClipConfig) -> None:
        super().__init__()
        width, grid = config.vision_width, config.image_resolution // config.patch_size
        if grid * config.patch_size != config.image_resolution:
            raise ValueError(f"image resolution {config.image_resolution} is not a multiple of patch {config.patch_size}")
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=config.patch_size, stride=config.patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, config.vision_layers, config.heads(width, config.vision_heads),
                                       config.activation)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, config.embed_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.conv1(images).flatten(2).transpose(1, 2)  # (B, patches, width)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
        x = self.transformer(x)
        return self.ln_post(x[:, 0]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, config: ClipConfig) -> None:
        super().__init__()
        self.config = config
        width = config.text_width
        self.visual = VisionTransformer(config)
        self.transformer = Transformer(width, config.text_layers, config.heads(width, config.text_heads),
                                       config.activation)
        self.token_embedding = nn.Embedding(config.vocab_size, width)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(config.context_length, width))
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(width ** -0.5 * torch.randn(width, config.embed_dim))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        causal = torch.full((config.context_length, config.context_length), float("-inf")).triu(1)
        self.register_buffer("attn_mask", causal, persistent=False)  # not in the state dict, as in open_clip

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.visual(images)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(tokens) + self.positional_embedding
        x = self.ln_final(self.transformer(x, self.attn_mask))
        return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ self.text_projection

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Unit-norm image and text embeddings and the inverse temperature exp(logit_scale)."""
        return (F.normalize(self.encode_image(images), dim=-1), F.normalize(self.encode_text(tokens), dim=-1),
                self.logit_scale.exp())


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def preprocess(frames: np.ndarray, resolution: int) -> torch.Tensor:
    """uint8 frames ``(N, H, W, 3)`` → normalised float ``(N, 3, R, R)``, resized (bilinear) to the
    model's resolution when they differ, as a real CLIP (224 px) would need."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] != resolution or x.shape[-2] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std
