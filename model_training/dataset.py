"""The arrays a training run uses: MNIST train carved into train/validation, plus extra digits.

The MNIST test split is deliberately absent here: it is read only by `evaluate`, after a model
is trained, so nothing in tuning or training can see it.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from digitize.errors import UsageError
from digitize.messages import one_line
from model_training.mnist import Split, load_split

EXTRA_SUFFIXES = {".png"}


class ExtraDigitsError(UsageError):
    """--extra-digits names no usable folder of labelled digits; one line for the user (exit 2)."""


@dataclass(frozen=True)
class TrainingData:
    train: Split
    validation: Split
    # Labelled digits from --extra-digits: how many went into `train` (before repeats), and the
    # part held out to report how well a model reads them.
    extra_count: int = 0
    extra_held_out: Split | None = None


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, held_out): `fraction` of every class held out, chosen with `seed`."""
    rng = np.random.default_rng(seed)
    rest, held_out = [], []
    for label in np.unique(labels):
        indices = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(len(indices) * fraction))
        held_out.append(indices[:cut])
        rest.append(indices[cut:])
    return rng.permutation(np.concatenate(rest)), rng.permutation(np.concatenate(held_out))


def take(split: Split, indices: np.ndarray) -> Split:
    return Split(images=split.images[indices], labels=split.labels[indices])


def limit(split: Split, count: int | None, seed: int) -> Split:
    """A stratified subset of `count` examples (all of them when count is None or larger)."""
    if count is None or count >= len(split):
        return split
    _, chosen = stratified_split(split.labels, count / len(split), seed)
    return take(split, chosen)


def load_extra_digits(directory: Path) -> Split:
    """Labelled 28x28 digits from `<directory>/<label>/*.png`, white ink on black.

    Everything wrong with the folder is an ExtraDigitsError (a usage error): `retrain` reads
    it before any training, so a typo in the path costs seconds, not a search's hours.
    """
    directory = Path(directory)
    if not directory.exists():
        raise ExtraDigitsError(f"--extra-digits {directory}: folder not found")
    if not directory.is_dir():
        raise ExtraDigitsError(
            f"--extra-digits {directory}: is a file, not a folder of <label>/*.png digits"
        )
    images, labels = [], []
    for label in range(10):
        try:
            paths = sorted((directory / str(label)).glob("*"))
        except OSError as error:
            raise ExtraDigitsError(
                f"--extra-digits {directory}/{label}: {one_line(error)}"
            ) from None
        for path in paths:
            if path.suffix.lower() in EXTRA_SUFFIXES and path.is_file():
                images.append(_read_digit(path))
                labels.append(label)
    if not images:
        raise ExtraDigitsError(
            f"--extra-digits {directory}: no digits found (expected <label>/*.png, label 0-9)"
        )
    return Split(images=np.stack(images), labels=np.asarray(labels, dtype=np.uint8))


def _read_digit(path: Path) -> np.ndarray:
    """One digit as 28x28 uint8; ExtraDigitsError for anything Pillow cannot or will not read."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its pixel limit and twice it; both are far too big.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return np.asarray(image.convert("L").resize((28, 28)), dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ExtraDigitsError(
            f"{path}: extra digit too large to decode ({one_line(error)})"
        ) from None
    # Damaged files raise all of these: OSError (UnidentifiedImageError, truncated data),
    # SyntaxError (bad chunk CRC), ValueError (a text chunk inflating past Pillow's limit),
    # EOFError and struct.error (a chunk cut short).
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise ExtraDigitsError(f"{path}: cannot read extra digit ({one_line(error)})") from None


def with_extra(train: Split, extra: Split, share: float, seed: int) -> Split:
    """`train` plus `extra` repeated until it makes up about `share` of the result.

    A few hundred personal digits among 54,000 MNIST ones would barely move the weights;
    repeating them (augmentation makes each repeat a little different) lets them matter.
    """
    wanted = int(share * len(train) / (1 - share))
    repeats = max(1, wanted // len(extra))
    images = np.concatenate([train.images] + [extra.images] * repeats)
    labels = np.concatenate([train.labels] + [extra.labels] * repeats)
    order = np.random.default_rng(seed).permutation(len(labels))
    return Split(images=images[order], labels=labels[order])


def training_data(
    mnist_dir: Path,
    validation_fraction: float = 0.1,
    train_limit: int | None = None,
    extra: Split | None = None,
    extra_share: float = 0.1,
    seed: int = 0,
) -> TrainingData:
    """MNIST train split into train/validation (seeded, stratified), with optional extras
    (`load_extra_digits`, read by the caller before anything slow starts).

    `train_limit` shrinks both parts in proportion (for quick searches); the validation part is
    always carved first so the same seed gives the same validation digits at any limit.
    """
    mnist_train = load_split(mnist_dir, "train")
    rest, held_out = stratified_split(mnist_train.labels, validation_fraction, seed)
    train, validation = take(mnist_train, rest), take(mnist_train, held_out)
    if train_limit is not None:
        train = limit(train, train_limit, seed)
        validation = limit(validation, max(1000, int(train_limit * validation_fraction)), seed)
    if extra is None:
        return TrainingData(train=train, validation=validation)
    order = np.random.default_rng(seed).permutation(len(extra))
    cut = len(extra) // 5 if len(extra) >= 10 else 0
    extra_train, extra_held_out = take(extra, order[cut:]), take(extra, order[:cut])
    return TrainingData(
        train=with_extra(train, extra_train, extra_share, seed),
        validation=validation,
        extra_count=len(extra_train),
        extra_held_out=extra_held_out if cut else None,
    )
