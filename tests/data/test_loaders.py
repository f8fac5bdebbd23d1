"""Dataset loaders on files the tests write in the real formats."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from plasticlab.data import DatasetNotFoundError, available, load_dataset
from plasticlab.data.idx import read_idx


def _idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def _write_mnist(directory, n_train=5, n_test=3, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    directory.mkdir(parents=True)
    for name, array in arrays.items():
        data = _idx_bytes(array)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_round_trip(tmp_path, name, gz):
    arrays = _write_mnist(tmp_path / name, gz=gz)
    data = load_dataset(name, tmp_path)
    assert data.x_train.shape == (5, 1, 28, 28) and data.x_train.dtype == np.float32
    np.testing.assert_array_equal(np.rint(data.x_train[:, 0] * 255), arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert data.y_train.dtype == np.int64 and data.n_classes == 10
    assert 0.0 <= data.x_test.min() and data.x_test.max() <= 1.0


def test_truncated_and_foreign_idx_files_are_named(tmp_path):
    good = _idx_bytes(np.zeros((4, 2, 2)))
    (tmp_path / "short").write_bytes(good[:-3])
    (tmp_path / "foreign").write_bytes(b"\x89PNG" + good[4:])
    with pytest.raises(ValueError, match="short.*truncated"):
        read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="foreign.*magic"):
        read_idx(tmp_path / "foreign")


def test_missing_dataset_says_which_files_and_where(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("cifar10", tmp_path)
    message = str(error.value)
    assert str(tmp_path / "cifar-10-batches-py") in message and "data_batch_1" in message
    assert "PLASTICLAB_DATA_DIR" in message and "never downloads" in message


def _write_cifar(directory, names, label_key, n, classes, seed):
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    written = {}
    for name in names:
        batch = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), label_key: list(rng.integers(0, classes, n))}
        (directory / name).write_bytes(pickle.dumps(batch))
        written[name] = batch
    return written


def test_cifar10_batches(tmp_path):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    written = _write_cifar(tmp_path / "cifar-10-batches-py", names, b"labels", 2, 10, 0)
    data = load_dataset("cifar10", tmp_path)
    assert data.x_train.shape == (10, 3, 32, 32) and data.x_test.shape == (2, 3, 32, 32)
    first = written["data_batch_1"][b"data"][0].reshape(3, 32, 32)
    np.testing.assert_array_equal(np.rint(data.x_train[0] * 255), first)  # channel-major layout kept
    np.testing.assert_array_equal(data.y_train[-2:], written["data_batch_5"][b"labels"])


def test_cifar100_fine_labels(tmp_path):
    written = _write_cifar(tmp_path / "cifar-100-python", ["train", "test"], b"fine_labels", 3, 100, 1)
    data = load_dataset("cifar100", tmp_path)
    assert data.n_classes == 100
    np.testing.assert_array_equal(data.y_test, written["test"][b"fine_labels"])


def test_digits_fixed_stratified_split_of_the_embedded_data():
    from sklearn.datasets import load_digits

    first, second = load_dataset("digits"), load_dataset("digits")
    reference = load_digits()
    assert len(first.y_train) + len(first.y_test) == 1797 and first.x_train.shape[1] == 64
    np.testing.assert_array_equal(first.x_test, second.x_test)
    # the same images and labels as scikit-learn's loader, scaled into [0, 1]
    all_x = np.concatenate([first.x_train, first.x_test])
    all_y = np.concatenate([first.y_train, first.y_test])
    order = np.lexsort(all_x.T[::-1])
    ref_order = np.lexsort((reference.data / 16.0).astype(np.float32).T[::-1])
    np.testing.assert_array_equal(all_x[order], (reference.data / 16.0).astype(np.float32)[ref_order])
    assert 0.0 <= first.x_train.min() and first.x_train.max() <= 1.0
    total = np.bincount(all_y, minlength=10)
    in_test = np.bincount(first.y_test, minlength=10)
    assert np.all(np.abs(in_test - 0.25 * total) <= 0.5)
    assert np.array_equal(np.bincount(all_y, minlength=10), np.bincount(reference.target, minlength=10))


def test_unknown_dataset_lists_the_available_ones():
    with pytest.raises(KeyError, match="digits"):
        load_dataset("imagenet")
    assert set(available()) == {"digits", "mnist", "fashion_mnist", "cifar10", "cifar100"}
