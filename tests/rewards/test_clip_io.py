"""open_clip-format checkpoints: shapes → architecture, a round trip to identical embeddings, clear
errors; the word and CLIP-BPE tokenizers."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from plasticlab.rewards import (CLIP, ClipBpeTokenizer, ClipCheckpointError, ClipConfig, WordTokenizer, build_reward_model,
                                build_tokenizer, infer_config, load_clip, save_clip_state_dict, tokenize)

TINY = ClipConfig(embed_dim=12, image_resolution=16, patch_size=4, vision_width=16, vision_layers=2, context_length=9,
                  vocab_size=20, text_width=8, text_layers=1, vision_heads=2, text_heads=2)


def write_random_open_clip(path, config=TINY, extra=None):
    """A randomly initialised tiny CLIP written as a plain state dict, as open_clip stores one."""
    torch.manual_seed(3)
    model = CLIP(config)
    state = model.state_dict()
    expected = {"visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre.weight",
                "visual.transformer.resblocks.1.attn.in_proj_weight", "visual.transformer.resblocks.0.attn.out_proj.bias",
                "visual.transformer.resblocks.0.mlp.c_fc.weight", "visual.transformer.resblocks.0.mlp.c_proj.bias",
                "visual.transformer.resblocks.0.ln_2.weight", "visual.ln_post.bias", "visual.proj", "token_embedding.weight",
                "positional_embedding", "transformer.resblocks.0.ln_1.weight", "transformer.resblocks.0.attn.in_proj_bias",
                "ln_final.weight", "text_projection", "logit_scale"}
    assert expected <= set(state)
    torch.save({**state, **(extra or {})}, path)
    return model


def test_architecture_is_read_off_the_shapes_and_embeddings_round_trip(tmp_path):
    path = tmp_path / "tiny.pt"
    original = write_random_open_clip(path, extra={"input_resolution": torch.tensor(16)})  # OpenAI's scalars are ignored
    state = torch.load(path, weights_only=True)
    assert infer_config(state, vision_heads=2, text_heads=2) == TINY
    loaded = load_clip(path, vision_heads=2, text_heads=2)
    images = torch.randn(3, 3, 16, 16)
    tokens = torch.tensor([[1, 5, 7, 19, 0, 0, 0, 0, 0], [1, 3, 19, 0, 0, 0, 0, 0, 0]])
    original.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_image(images), original.encode_image(images))
        torch.testing.assert_close(loaded.encode_text(tokens), original.encode_text(tokens))
    # OpenAI's heads convention (width // 64, at least 1) gives different attention here: not the same model
    with torch.no_grad():
        assert not torch.allclose(load_clip(path).encode_image(images), original.encode_image(images))
    # a training checkpoint of open_clip: {"state_dict": {"module.…": …}}
    wrapped = tmp_path / "epoch_1.pt"
    torch.save({"epoch": 1, "state_dict": {f"module.{k}": v for k, v in state.items() if k != "input_resolution"}}, wrapped)
    with torch.no_grad():
        torch.testing.assert_close(load_clip(wrapped, vision_heads=2, text_heads=2).encode_text(tokens),
                                   original.encode_text(tokens))


def test_saved_models_and_vocabularies_load_through_the_reward_registry(tmp_path):
    tokenizer = WordTokenizer(["the", "red", "square"])
    config = ClipConfig(**{**TINY.as_dict(), "vocab_size": tokenizer.vocab_size})
    model = CLIP(config).eval()
    save_clip_state_dict(model, tmp_path / "clip.pt")
    tokenizer.save(tmp_path / "vocab.json")
    reward_model = build_reward_model({"name": "clip_checkpoint", "path": str(tmp_path / "clip.pt"), "heads": 2,
                                       "tokenizer": {"name": "word", "path": str(tmp_path / "vocab.json")}})
    frames = np.random.default_rng(0).integers(0, 255, (4, 24, 24, 3), dtype=np.uint8)  # resized to 16 px
    p = reward_model.probabilities(frames, ["the red square", "the square"], ["red"])
    assert p.shape == (4, 2) and (p > 0).all() and (p.sum(axis=1) < 1).all()
    with pytest.raises(ValueError, match="do not belong together"):
        build_reward_model({"name": "clip_checkpoint", "path": str(tmp_path / "clip.pt"), "heads": 2,
                            "tokenizer": {"name": "word", "path": str(tmp_path / "vocab.json")} | {"path": _vocab(tmp_path)}})
    with pytest.raises(KeyError, match="unknown reward model"):
        build_reward_model({"name": "siglip"})


def _vocab(tmp_path):
    WordTokenizer(["a", "b", "c", "d"]).save(tmp_path / "other.json")
    return str(tmp_path / "other.json")


def test_bad_checkpoint_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_clip(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    write_random_open_clip(corrupt)
    corrupt.write_bytes(corrupt.read_bytes()[:500])
    with pytest.raises(ClipCheckpointError, match="cannot be read"):
        load_clip(corrupt)
    unknown = tmp_path / "unknown.pt"
    write_random_open_clip(unknown, extra={"visual.adapter.weight": torch.zeros(2)})
    with pytest.raises(ClipCheckpointError, match=r"unknown keys \['visual.adapter.weight'\]"):
        load_clip(unknown, vision_heads=2, text_heads=2)
    partial = tmp_path / "partial.pt"
    torch.save({"visual.conv1.weight": torch.zeros(8, 3, 4, 4)}, partial)
    with pytest.raises(ClipCheckpointError, match="missing visual.positional_embedding"):
        load_clip(partial)
    resnet = tmp_path / "rn50.pt"
    torch.save({"visual.layer1.0.conv1.weight": torch.zeros(1)}, resnet)
    with pytest.raises(ClipCheckpointError, match="ResNet"):
        load_clip(resnet)


def test_word_tokenizer_follows_clip_conventions(tmp_path):
    tokenizer = build_tokenizer({"name": "word", "words": ["the", "red", "square"]})
    tokens = tokenize(tokenizer, ["The red square", "red blob"], 6)
    assert tokens.tolist() == [[1, 3, 4, 5, 6, 0], [1, 4, 2, 6, 0, 0]]  # SOT=1, unknown=2, EOT=6 the largest
    assert (tokens.argmax(dim=1) == torch.tensor([4, 3])).all()  # CLIP pools at the argmax: the EOT
    with pytest.raises(ValueError, match="context length"):
        tokenize(tokenizer, ["the red square"], 4)
    with pytest.raises(KeyError, match="unknown tokenizer"):
        build_tokenizer({"name": "sentencepiece"})
    with pytest.raises(FileNotFoundError):
        build_tokenizer({"name": "word", "path": str(tmp_path / "none.json")})


def test_clip_bpe_tokenizer_reads_a_local_merges_file(tmp_path):
    merges = ["#version: 0.2", "r e", "re d</w>", "s q", "sq u", "a r", "ar e</w>", "squ are</w>"]
    path = tmp_path / "bpe.txt.gz"
    path.write_bytes(gzip.compress("\n".join(merges).encode()))
    tokenizer = ClipBpeTokenizer(path)
    assert tokenizer.vocab_size == 512 + 7 + 2 and tokenizer.eot == tokenizer.vocab_size - 1
    ids = tokenizer.encode("Red  SQUARE!")
    encoder = tokenizer.encoder
    assert ids == [encoder["red</w>"], encoder["square</w>"], encoder["!</w>"]]
    assert tokenizer.encode("rest") == [encoder["re"], encoder["s"], encoder["t</w>"]]  # no merge for "st"
    bad = tmp_path / "bad.txt"
    bad.write_text("#version\na b c\n")
    with pytest.raises(ValueError, match="'a b' per line"):
        ClipBpeTokenizer(bad)
