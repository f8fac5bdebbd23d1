"""MNIST-family datasets from IDX files (LeCun's format), plain or gzipped.

IDX layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then
one big-endian uint32 per dimension, then the data. Every check names the file it failed on.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from plasticlab.data.base import Dataset, require_files

UBYTE = 0x08
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file into an array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path}: cannot read IDX file ({error})") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != UBYTE:
        raise ValueError(f"{path}: unsupported IDX type code 0x{raw[2]:02x} (expected 0x08, unsigned byte)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX data has {len(raw) - header} bytes, header declares {expected} (truncated or corrupt)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _load(name: str, subdir: str, data_dir: Path) -> Dataset:
    directory = Path(data_dir) / subdir
    paths = require_files(name, directory, {key: [base, base + ".gz"] for key, base in FILES.items()})
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
            raise ValueError(f"{directory}: {split} images and labels differ in count")

    def images(a: np.ndarray) -> np.ndarray:
        return (a.astype(np.float32) / 255.0)[:, None, :, :]

    return Dataset(name, images(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
                   images(arrays["test_images"]), arrays["test_labels"].astype(np.int64), n_classes=10)


def load_mnist(data_dir: Path) -> Dataset:
    return _load("mnist", "mnist", data_dir)


def load_fashion_mnist(data_dir: Path) -> Dataset:
    return _load("fashion_mnist", "fashion_mnist", data_dir)
