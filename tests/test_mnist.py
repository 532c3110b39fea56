"""The MNIST loader: both layouts, checksums, and one-line errors for every broken file."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from digitize.errors import DataError
from model_training.mnist import MnistError, load_split, resolve_mnist_dir

TEST_FILES = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture
def test_split_copy(tmp_path, mnist_dir):
    """The test split's two files, gzip-compressed, in a directory of our own to damage."""
    for name in TEST_FILES:
        shutil.copy(mnist_dir / f"{name}.gz", tmp_path / f"{name}.gz")
    return tmp_path


def test_reads_canonical_gz(mnist_dir):
    split = load_split(mnist_dir, "test")
    assert split.images.shape == (10000, 28, 28) and split.images.dtype == np.uint8
    assert split.labels.shape == (10000,)
    assert np.bincount(split.labels).tolist()[:3] == [980, 1135, 1032]


def test_reads_uncompressed_files(test_split_copy):
    for name in TEST_FILES:
        gz = test_split_copy / f"{name}.gz"
        (test_split_copy / name).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    assert len(load_split(test_split_copy, "test")) == 10000


def test_reads_keras_npz(tmp_path, mnist_dir):
    test = load_split(mnist_dir, "test")
    train = load_split(mnist_dir, "train")
    np.savez(
        tmp_path / "mnist.npz",
        x_train=train.images,
        y_train=train.labels,
        x_test=test.images,
        y_test=test.labels,
    )
    assert np.array_equal(load_split(tmp_path, "test").labels, test.labels)


def test_npz_with_other_content_fails_checksum(tmp_path, mnist_dir):
    test = load_split(mnist_dir, "test")
    np.savez(tmp_path / "mnist.npz", x_test=test.images, y_test=(test.labels + 1) % 10)
    with pytest.raises(MnistError, match=r"mnist.npz\[y_test\]: checksum mismatch"):
        load_split(tmp_path, "test")


def _single_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_missing_directory(tmp_path):
    with pytest.raises(MnistError) as error:
        load_split(tmp_path / "nowhere", "test")
    assert "MNIST directory not found" in _single_line(error)
    assert isinstance(error.value, DataError) and error.value.exit_code == 3


def test_missing_file_names_it(test_split_copy):
    (test_split_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistError) as error:
        load_split(test_split_copy, "test")
    assert "t10k-labels-idx1-ubyte" in _single_line(error)


def test_truncated_gzip(test_split_copy):
    path = test_split_copy / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:50_000])
    with pytest.raises(MnistError) as error:
        load_split(test_split_copy, "test")
    assert str(path) in _single_line(error) and "cannot read" in str(error.value)


@pytest.mark.slow
def test_truncated_data_says_expected_size(test_split_copy):
    path = test_split_copy / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    with pytest.raises(MnistError) as error:
        load_split(test_split_copy, "test")
    assert "expected 7840016" in _single_line(error)


def test_changed_byte_fails_checksum(test_split_copy):
    path = test_split_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(MnistError) as error:
        load_split(test_split_copy, "test")
    assert "checksum mismatch" in _single_line(error)


def test_not_idx_at_all(test_split_copy):
    (test_split_copy / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"hello world"))
    with pytest.raises(MnistError) as error:
        load_split(test_split_copy, "test")
    assert "not an IDX file" in _single_line(error)


def test_directory_from_flag_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITIZE_MNIST_DIR", str(tmp_path / "env"))
    assert resolve_mnist_dir(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_mnist_dir(None) == tmp_path / "env"
