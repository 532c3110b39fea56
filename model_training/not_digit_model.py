"""Training the not-a-digit model: is a normalized mark a digit at all?

    MNIST train digits + font digits (label 0)  \\
                                                  -> small CNN -> p(not a digit) -> threshold
    letters, X, ticks, strike-outs (label 1)     /

The digit model only knows ten classes and reads a letter as its nearest digit, often sure of
it. This second, small model says when a mark is none of them. Its threshold is chosen on a
validation split so that at most `MAX_FALSE_FLAGS` of MNIST digits are called marks; the
MNIST test split is read once, afterwards, to report the same rate on digits never seen.

    python -m model_training.not_digit_model --mnist-dir ../shared/mnist

writes digitize/models/not_digit.keras and its card not_digit.json (threshold and measures).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from digitize.model_files import SHIPPED_DIR
from digitize.not_digit import CARD_NAME, MODEL_NAME
from model_training.marks import (
    as_scanned,
    as_written,
    continental_ones,
    font_digits,
    not_digit_marks,
    truetype_fonts,
)
from model_training.mnist import load_split, resolve_mnist_dir

MAX_FALSE_FLAGS = 0.001  # of validation digits: a flagged digit field costs a person a glance


def as_pipeline_digits(
    images: np.ndarray, rng: np.random.Generator, share: float = 0.6
) -> np.ndarray:
    """MNIST digits, `share` of them slanted, rescanned and refitted as the marks are, so that
    neither the refit nor MNIST's own rendering is a sign of either class."""
    import cv2

    from digitize.normalize import to_mnist_format

    out = images.copy()
    for k in np.flatnonzero(rng.random(len(images)) < share):
        big = cv2.resize(
            images[k].astype(np.float32) / 255.0, (56, 56), interpolation=cv2.INTER_LINEAR
        )
        out[k] = to_mnist_format(as_scanned(as_written(big, rng), rng))
    return out


def build_model():
    import keras

    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def training_set(digits: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Digits (label 0) with as many marks (label 1), a tenth of the digits from fonts and a
    fiftieth continental ones."""
    fonts = np.concatenate(
        [font_digits(len(digits) // 10, rng), continental_ones(len(digits) // 50, rng)]
    )
    marks = not_digit_marks(len(digits) + len(fonts), rng)
    images = np.concatenate([as_pipeline_digits(digits, rng), fonts, marks])
    labels = np.concatenate([np.zeros(len(digits) + len(fonts)), np.ones(len(marks))])
    order = rng.permutation(len(labels))
    return images[order], labels[order].astype(np.float32)


def choose_threshold(digit_scores: np.ndarray) -> float:
    """The lowest threshold that calls at most MAX_FALSE_FLAGS of the digits marks."""
    return float(np.quantile(digit_scores, 1 - MAX_FALSE_FLAGS))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist-dir", type=Path)
    parser.add_argument("--out", type=Path, default=SHIPPED_DIR)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--limit", type=int, help="training digits (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras

    rng = np.random.default_rng(args.seed)
    keras.utils.set_random_seed(args.seed)
    started = time.time()
    train = load_split(resolve_mnist_dir(args.mnist_dir), "train")
    order = rng.permutation(len(train))
    validation, fit = order[: len(order) // 10], order[len(order) // 10 :][: args.limit]
    images, labels = training_set(train.images[fit], rng)
    val_digits = as_pipeline_digits(train.images[validation], rng)
    val_marks = not_digit_marks(len(validation), rng)

    model = build_model()
    model.fit(images[..., None], labels, batch_size=128, epochs=args.epochs, verbose=2)
    threshold = choose_threshold(model.predict(val_digits[..., None], verbose=0).ravel())
    mark_scores = model.predict(val_marks[..., None], verbose=0).ravel()

    test = load_split(resolve_mnist_dir(args.mnist_dir), "test")  # read once, to report
    test_scores = model.predict(as_pipeline_digits(test.images, rng)[..., None], verbose=0)
    card = {
        "what": "p(not a digit) of a 28x28 mark; above threshold the scan drops it, not_digits",
        "threshold": round(threshold, 4),
        "validation_digits_flagged": MAX_FALSE_FLAGS,
        "validation_marks_found": round(float(np.mean(mark_scores > threshold)), 4),
        "test_digits_flagged": round(float(np.mean(test_scores.ravel() > threshold)), 5),
        "training_images": int(len(labels)),
        "truetype_fonts": len(truetype_fonts()),
        "epochs": args.epochs,
        "seconds": round(time.time() - started),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "command": shlex.join([Path(sys.executable).name, "-m", __spec__.name, *sys.argv[1:]]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / MODEL_NAME, include_optimizer=False)
    (args.out / CARD_NAME).write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
