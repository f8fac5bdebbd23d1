"""CLIP checkpoints in the OpenAI / open_clip ViT state-dict format: save, and load with the
architecture read off the tensor shapes.

The same loader reads the models this pipeline trains and a real ``ViT-*`` CLIP ``.pt``/``.bin``
state dict from a local file (OpenAI's TorchScript archives are read through their state dict).
Problems are reported with the file and the keys involved: a missing file, a file torch cannot
read, a ResNet (modified-ResNet) image tower, missing tensors, or tensors it does not know.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from plasticlab.rewards.clip_model import CLIP, ClipConfig

IGNORED = {"input_resolution", "context_length", "vocab_size"}  # scalars in OpenAI's archives
_BLOCK = re.compile(r"^(visual\.)?transformer\.resblocks\.(\d+)\.")


class ClipCheckpointError(ValueError):
    """A file that is not a loadable CLIP ViT state dict; the message says what is wrong."""


def save_clip_state_dict(model: CLIP, path: str | Path) -> Path:
    """Write the model's tensors (and nothing else) atomically, as open_clip's ``state_dict`` would be."""
    import io

    from plasticlab.runtime.atomic import write_bytes_atomic

    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, buffer)
    write_bytes_atomic(path, buffer.getvalue())
    return Path(path)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file: a plain state dict, ``{"state_dict": …}`` (open_clip training
    checkpoints, ``module.`` prefixes removed) or an OpenAI TorchScript archive."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CLIP checkpoint {path} does not exist")
    try:
        data: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as first:  # noqa: BLE001 - try TorchScript before giving up
        try:
            data = torch.jit.load(str(path), map_location="cpu").state_dict()
        except Exception:  # noqa: BLE001
            raise ClipCheckpointError(f"CLIP checkpoint {path} cannot be read (corrupt or not a torch file): {first}") from None
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ClipCheckpointError(f"CLIP checkpoint {path} does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in data.items() if k.removeprefix("module.") not in IGNORED}


def _layers(state: dict[str, torch.Tensor], vision: bool) -> int:
    found = {int(m.group(2)) for k in state if (m := _BLOCK.match(k)) and bool(m.group(1)) == vision}
    if found != set(range(len(found))):
        raise ClipCheckpointError(f"{'visual' if vision else 'text'} transformer blocks are not numbered 0..n-1: {sorted(found)}")
    return len(found)


def infer_config(state: dict[str, torch.Tensor], **overrides: Any) -> ClipConfig:
    """Architecture sizes from tensor shapes (heads and activation cannot be seen; ``overrides``)."""
    if "visual.layer1.0.conv1.weight" in state or "visual.attnpool.positional_embedding" in state:
        raise ClipCheckpointError("this is a ResNet CLIP (modified-ResNet image tower); only ViT checkpoints are supported")
    required = ["visual.conv1.weight", "visual.positional_embedding", "visual.proj", "token_embedding.weight",
                "positional_embedding", "ln_final.weight", "text_projection", "logit_scale"]
    missing = [k for k in required if k not in state]
    if missing:
        raise ClipCheckpointError(f"not a CLIP ViT state dict: missing {', '.join(missing)}")
    conv = state["visual.conv1.weight"]
    grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    sizes = dict(embed_dim=state["text_projection"].shape[1], image_resolution=conv.shape[-1] * grid,
                 patch_size=conv.shape[-1], vision_width=conv.shape[0], vision_layers=_layers(state, True),
                 context_length=state["positional_embedding"].shape[0], vocab_size=state["token_embedding.weight"].shape[0],
                 text_width=state["ln_final.weight"].shape[0], text_layers=_layers(state, False))
    return ClipConfig(**{k: int(v) for k, v in sizes.items()}, **overrides)


def load_clip(path: str | Path, **overrides: Any) -> CLIP:
    """A CLIP model with the weights of ``path``; unknown, missing or misshapen tensors are errors."""
    state = read_state_dict(path)
    config = infer_config(state, **overrides)
    model = CLIP(config)
    expected = model.state_dict()
    unknown = sorted(set(state) - set(expected))
    missing = sorted(set(expected) - set(state))
    if unknown or missing:
        raise ClipCheckpointError(f"CLIP checkpoint {path}: unknown keys {unknown[:5]}{' …' if len(unknown) > 5 else ''}; "
                                  f"missing keys {missing[:5]}{' …' if len(missing) > 5 else ''}")
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})" for k, v in expected.items() if state[k].shape != v.shape]
    if wrong:
        raise ClipCheckpointError(f"CLIP checkpoint {path}: tensors of unexpected shape: {'; '.join(wrong[:5])}")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()
