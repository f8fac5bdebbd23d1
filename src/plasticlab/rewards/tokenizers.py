"""Text tokenizers with CLIP's conventions: ``[SOT] tokens [EOT] 0 …``, EOT the largest id.

CLIP pools the text transformer's output at the EOT position, found as the argmax of the token
ids, so every tokenizer here gives EOT the largest id of its vocabulary and pads with 0. Two
implementations behind one registry: a word-level tokenizer for the models trained in the
pipeline (vocabulary stored beside the model), and CLIP's byte-level BPE read from a local merges
file (``bpe_simple_vocab_16e6.txt[.gz]``) for real CLIP weights. Nothing is ever downloaded.
"""

from __future__ import annotations

import gzip
import html
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import torch

from plasticlab.registry import Registry

TOKENIZERS: Registry[Callable[..., "Tokenizer"]] = Registry("tokenizer")


class Tokenizer(Protocol):
    vocab_size: int

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without SOT/EOT."""

    @property
    def sot(self) -> int: ...

    @property
    def eot(self) -> int: ...


register_tokenizer = TOKENIZERS.register


def build_tokenizer(spec: dict[str, Any]) -> Tokenizer:
    """``{name: word|clip_bpe, path: FILE}`` → a tokenizer."""
    return TOKENIZERS.build(spec)


def tokenize(tokenizer: Tokenizer, texts: Sequence[str], context_length: int) -> torch.Tensor:
    """``(len(texts), context_length)`` int64: SOT, tokens, EOT, zero padding; too long is an error
    (a silently truncated goal would lose its EOT, and with it the pooled feature)."""
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, text in enumerate(texts):
        ids = [tokenizer.sot, *tokenizer.encode(text), tokenizer.eot]
        if len(ids) > context_length:
            raise ValueError(f"text {text!r} needs {len(ids)} tokens; the model's context length is {context_length}")
        out[i, : len(ids)] = torch.tensor(ids)
    return out


@register_tokenizer("word")
class WordTokenizer:
    """Lower-cased whitespace words; ids: 0 pad, 1 SOT, 2 unknown, words, then EOT (the largest)."""

    def __init__(self, words: Sequence[str] | None = None, path: str | Path | None = None) -> None:
        if path is not None:
            words = _read_json_words(Path(path))
        if not words:
            raise ValueError("a word tokenizer needs its words (or the path of a saved vocabulary)")
        self.words = list(dict.fromkeys(w.lower() for w in words))
        self.index = {w: 3 + i for i, w in enumerate(self.words)}
        self.vocab_size = 3 + len(self.words) + 1

    sot = property(lambda self: 1)
    eot = property(lambda self: self.vocab_size - 1)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(word, 2) for word in text.lower().split()]

    def save(self, path: str | Path) -> None:
        from plasticlab.runtime.atomic import write_text_atomic

        write_text_atomic(path, json.dumps({"tokenizer": "word", "words": self.words}, indent=1) + "\n")


def _read_json_words(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"word vocabulary {path} does not exist")
    try:
        data = json.loads(path.read_text())
        return list(data["words"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"word vocabulary {path} is not a JSON file with a 'words' list: {error}") from None


@lru_cache(maxsize=1)
def byte_alphabet() -> dict[int, str]:
    """Reversible byte → printable character map of GPT-2/CLIP BPE: printable Latin-1 bytes map to
    themselves, the others to code points from 256 up, so merges never see whitespace/control bytes."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping, extra = {}, 0
    for byte in range(256):
        if byte in keep:
            mapping[byte] = chr(byte)
        else:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return mapping


# CLIP's pre-tokeniser with the standard library: letters, single digits, other symbols
_PIECES = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+",
                     re.IGNORECASE)


@register_tokenizer("clip_bpe")
class ClipBpeTokenizer:
    """CLIP's byte-level BPE from a local merges file (first line a header, then ``a b`` per line).

    Vocabulary as CLIP builds it: the 256 byte characters, the same with ``</w>``, one entry per
    merge, then ``<|startoftext|>`` and ``<|endoftext|>`` (the largest id). ``max_merges`` keeps
    the first merges only (CLIP's released vocabulary uses 49152 − 256 − 2 of them).
    """

    def __init__(self, path: str | Path, max_merges: int | None = 49152 - 256 - 2) -> None:
        merges = _read_merges(Path(path))[:max_merges]
        alphabet = list(byte_alphabet().values())
        vocab = [*alphabet, *(a + "</w>" for a in alphabet), *("".join(m) for m in merges),
                 "<|startoftext|>", "<|endoftext|>"]
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {merge: i for i, merge in enumerate(merges)}
        self.vocab_size = len(vocab)
        self._cache: dict[str, list[str]] = {}

    sot = property(lambda self: self.encoder["<|startoftext|>"])
    eot = property(lambda self: self.encoder["<|endoftext|>"])

    def _bpe(self, word: str) -> list[str]:
        """Greedily apply the lowest-ranked merge until none applies (the last symbol ends in </w>)."""
        if word in self._cache:
            return self._cache[word]
        symbols = [*word[:-1], word[-1] + "</w>"]
        while len(symbols) > 1:
            pairs = {(a, b) for a, b in zip(symbols, symbols[1:])}
            best = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        self._cache[word] = symbols
        return symbols

    def encode(self, text: str) -> list[int]:
        text = " ".join(html.unescape(html.unescape(text)).split()).lower()
        alphabet = byte_alphabet()
        ids: list[int] = []
        for piece in _PIECES.findall(text):
            word = "".join(alphabet[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[token] for token in self._bpe(word))
        return ids


def _read_merges(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"BPE merges file {path} does not exist (CLIP ships it as bpe_simple_vocab_16e6.txt.gz)")
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = raw.decode("utf-8").split("\n")[1:]  # the first line is a version header
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise ValueError(f"BPE merges file {path} cannot be read: {error}") from None
    merges = [tuple(line.split()) for line in lines if line.strip()]
    bad = [line for line in merges if len(line) != 2]
    if bad:
        raise ValueError(f"BPE merges file {path}: expected 'a b' per line, got {' '.join(bad[0])!r}")
    return merges  # type: ignore[return-value]
