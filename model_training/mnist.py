"""MNIST: find the files, verify them, read them into arrays.

Two layouts are accepted in a directory:
- the four LeCun IDX files, each either gzip-compressed (`.gz`) or not;
- Keras' `mnist.npz` (what `keras.datasets.mnist` caches).

Content is verified against the canonical checksums of the *decompressed IDX bytes*, so a
`.gz` from any mirror and an `.npz` (whose arrays are turned back into IDX bytes) are checked
the same way. Anything wrong is reported as a `MnistError` whose message is one line naming
the file and what was expected.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitize.errors import DataError

ENV_VAR = "DIGITIZE_MNIST_DIR"
NPZ_NAME = "mnist.npz"
NPZ_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

# name of the decompressed file -> (split, kind, shape, sha256 of the decompressed bytes)
IDX_FILES = {
    "train-images-idx3-ubyte": (
        "train",
        "images",
        (60000, 28, 28),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte": (
        "train",
        "labels",
        (60000,),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte": (
        "test",
        "images",
        (10000, 28, 28),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte": (
        "test",
        "labels",
        (10000,),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}
NPZ_KEYS = {
    "train-images-idx3-ubyte": "x_train",
    "train-labels-idx1-ubyte": "y_train",
    "t10k-images-idx3-ubyte": "x_test",
    "t10k-labels-idx1-ubyte": "y_test",
}
IDX_UBYTE = 0x08


class MnistError(DataError):
    """MNIST could not be found or read; the message is one line for the user (exit 3)."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (n, 28, 28) uint8, white ink on black
    labels: np.ndarray  # (n,) uint8

    def __len__(self) -> int:
        return len(self.labels)


def resolve_mnist_dir(flag: Path | None = None) -> Path:
    """The directory to read MNIST from: the flag, else $DIGITIZE_MNIST_DIR, else a download."""
    if flag is not None:
        return Path(flag)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return download_mnist()


def download_mnist() -> Path:
    """Download Keras' mnist.npz into Keras' cache (once) and return its directory."""
    import keras  # only here: loading from a directory must not need Keras

    try:
        path = keras.utils.get_file(NPZ_NAME, origin=NPZ_ORIGIN, file_hash=NPZ_SHA256)
    except Exception as error:  # network errors come in many types; the user needs one line
        raise MnistError(
            f"no MNIST directory given (--mnist-dir or ${ENV_VAR}) and the download from "
            f"{NPZ_ORIGIN} failed: {error}"
        ) from error
    return Path(path).parent


def load_split(directory: Path, split: str) -> Split:
    """Read and verify one split ("train" or "test") from `directory`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MnistError(f"{directory}: MNIST directory not found")
    arrays = {}
    for name, (file_split, kind, shape, sha256) in IDX_FILES.items():
        if file_split == split:
            arrays[kind] = _read_verified(directory, name, shape, sha256)
    if not arrays:
        raise MnistError(f"unknown MNIST split {split!r}: expected 'train' or 'test'")
    return Split(images=arrays["images"], labels=arrays["labels"])


def canonical_checksums() -> dict[str, str]:
    """sha256 of each decompressed IDX file; every load is verified against these."""
    return {name: sha256 for name, (*_, sha256) in IDX_FILES.items()}


def _read_verified(directory: Path, name: str, shape: tuple, sha256: str) -> np.ndarray:
    idx_path = _idx_path(directory, name)
    if idx_path is not None:
        raw = _read_idx_bytes(idx_path)
        where = str(idx_path)
    else:
        npz = _npz_path(directory)
        if npz is None:
            raise MnistError(
                f"{directory}: neither {name}(.gz) nor {NPZ_NAME} found "
                f"(expected the four LeCun IDX files or Keras' {NPZ_NAME})"
            )
        raw = _idx_bytes_from_npz(npz, NPZ_KEYS[name])
        where = f"{npz}[{NPZ_KEYS[name]}]"
    array = _parse_idx(raw, where, shape)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise MnistError(
            f"{where}: checksum mismatch (sha256 of the decompressed {name} should be "
            f"{sha256[:16]}…, got {digest[:16]}…): not the canonical MNIST file"
        )
    return array


def _idx_path(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _npz_path(directory: Path) -> Path | None:
    candidate = Path(directory) / NPZ_NAME
    return candidate if candidate.is_file() else None


def _read_idx_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        # gzip raises EOFError on a truncated stream and BadGzipFile (an OSError) on garbage.
        raise MnistError(f"{path}: cannot read ({error})") from error
    return data


def _idx_bytes_from_npz(path: Path, key: str) -> bytes:
    try:
        with np.load(path) as npz:
            array = np.ascontiguousarray(npz[key])
    except KeyError:
        raise MnistError(f"{path}: no array {key!r} (not a Keras mnist.npz)") from None
    except Exception as error:  # zipfile and numpy raise a zoo of types for a damaged file
        raise MnistError(f"{path}: cannot read ({error})") from error
    if array.dtype != np.uint8:
        raise MnistError(f"{path}[{key}]: expected uint8 data, found {array.dtype}")
    header = struct.pack(">BBBB", 0, 0, IDX_UBYTE, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def _parse_idx(raw: bytes, where: str, shape: tuple) -> np.ndarray:
    if len(raw) < 4:
        raise MnistError(f"{where}: file is empty or truncated ({len(raw)} bytes)")
    zero, _, dtype_code, ndim = struct.unpack(">BBBB", raw[:4])
    if zero != 0 or dtype_code != IDX_UBYTE or ndim != len(shape):
        raise MnistError(f"{where}: not an IDX file of unsigned bytes with {len(shape)} dimensions")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise MnistError(f"{where}: truncated header ({len(raw)} bytes)")
    found_shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    if tuple(found_shape) != tuple(shape):
        raise MnistError(f"{where}: shape {found_shape}, expected {shape}")
    expected = header_size + int(np.prod(shape))
    if len(raw) != expected:
        raise MnistError(
            f"{where}: {len(raw)} bytes, expected {expected} (file truncated or padded)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)
