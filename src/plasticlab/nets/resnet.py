"""CIFAR-style ResNet-18 (He et al. 2016): 3×3 stem, no max-pool, BasicBlocks [2, 2, 2, 2].

The variant used by the Hare & Tortoise and warm-starting CIFAR experiments (32×32 inputs).
"""

from __future__ import annotations

import logging
import platform
from functools import lru_cache

import torch
from torch import nn

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _x86_without_avx512() -> bool:
    if platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512f" not in flags


def avoid_onednn_1x1_backward_on_avx2() -> bool:
    """Switch off oneDNN (mkldnn) CPU convolutions on x86 CPUs without AVX-512.

    With torch 2.13.0 on AVX2-only x86 CPUs (seen on an AMD EPYC), oneDNN's jit 1×1 convolution
    weight gradient — the ResNet's projection shortcuts — crashes (SIGSEGV) with one thread and
    stalls for many minutes with two. PyTorch's native convolutions are used instead there; GPUs
    (cuDNN) and AVX-512 CPUs are unaffected. Called at every ResNet build (only the CPU check is
    cached), so oneDNN switched back on in between is switched off again. Returns whether it
    switched oneDNN off now.
    """
    if not _x86_without_avx512() or not torch.backends.mkldnn.enabled:
        return False
    torch.backends.mkldnn.enabled = False
    log.warning("x86 CPU without AVX-512: oneDNN convolutions switched off (its 1x1 convolution backward "
                "crashes there); using PyTorch's native CPU convolutions")
    return True


class BasicBlock(nn.Module):
    """Two 3×3 conv–BN layers with an identity (or 1×1 conv–BN projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ResNet18(nn.Module):
    """Stem (3×3 conv, BN, ReLU; no max-pool, inputs are only 32×32), four stages of two
    BasicBlocks with widths w, 2w, 4w, 8w (stride 2 from the second stage), global average
    pooling and a Linear head (``self.head``, the last of ``weight_layers``)."""

    def __init__(self, in_channels: int, n_classes: int, width: int = 64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        stages, channels = [], width
        for index, multiplier in enumerate((1, 2, 4, 8)):
            out_channels = width * multiplier
            stride = 1 if index == 0 else 2
            stages += [BasicBlock(channels, out_channels, stride), BasicBlock(out_channels, out_channels, 1)]
            channels = out_channels
        self.blocks = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


def make_resnet18(input_shape: tuple[int, ...], n_classes: int, width: int = 64) -> ResNet18:
    """ResNet-18 for images of shape (channels, height, width); 11.17M parameters for CIFAR-10."""
    if len(input_shape) != 3:
        raise ValueError(f"resnet18 needs image inputs (channels, height, width), got input_shape {tuple(input_shape)}")
    if width < 1:
        raise ValueError(f"resnet18: width must be positive, got {width}")
    avoid_onednn_1x1_backward_on_avx2()
    return ResNet18(input_shape[0], n_classes, width)
