"""The ensemble consulted only for doubtful digits (digitize/ensemble.py): its MNIST test
accuracy and its cost per page.

    python benchmarks/ensemble.py --mnist-dir ../shared/mnist \
        --member /work/members/k3_seed1 --member /work/members/k5_seed2 [--install]

1. The threshold: the first model's top probability under which the members are asked is
   chosen on the 5,999 validation digits of the shipped split: no model trained on them,
   but every model's early stopping watched them, so the figures there are a little
   optimistic; the lowest threshold whose validation accuracy is the best any reaches.
2. The test split is then read once: the first model alone, each member alone, the mean of
   all at every digit, and the scheme; its share of digits consulted and its calibration
   (ECE, 15 bins, as for the shipped model).
3. Cost: the bundled sample forms are segmented once, and each page's digits classified by
   the first model alone and with the scheme (median of 5 rounds, seconds per page).

`--install` copies the members into digitize/models and writes `ensemble.json`.
Writes benchmarks/results/ensemble.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from digitize.tensorflow_startup import quiet_tensorflow_startup

with quiet_tensorflow_startup():
    import keras

from digitize.classifier import load_digit_model
from digitize.ensemble import CARD_NAME, Ensemble, model_sha256
from digitize.model_files import MODEL_NAME, SHIPPED_DIR
from digitize.pages import count_pages, load_page
from digitize.segmentation import segment_page
from field_calibration import ece
from model_training.dataset import training_data
from model_training.ensemble_members import SHIPPED_SPLIT_SEED
from model_training.mnist import Split, load_split, resolve_mnist_dir
from report import write_results

THRESHOLDS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999, 1.01)
SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "forms"


def predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    batch = images.reshape(-1, 28, 28, 1).astype(np.float32)
    return np.asarray(model.predict(batch, batch_size=512, verbose=0))


class Precomputed:
    """A member whose probabilities for a split were computed once: `Ensemble.second_opinion`
    itself runs for every threshold, without the member's model running each time."""

    def __init__(self, images: np.ndarray, probabilities: np.ndarray):
        self.rows = {image.tobytes(): row for row, image in enumerate(images)}
        self.probabilities = probabilities

    def predict_on_batch(self, batch: np.ndarray) -> np.ndarray:
        images = batch.reshape(-1, 28, 28).astype(np.uint8)
        return self.probabilities[[self.rows[image.tobytes()] for image in images]]


def scheme(
    images: np.ndarray, first: np.ndarray, members: list[np.ndarray], consult_below: float
) -> np.ndarray:
    """The scan's own `Ensemble.second_opinion` at `consult_below`."""
    precomputed = [Precomputed(images, p) for p in members]
    return Ensemble(precomputed, consult_below).second_opinion(images, first)


def accuracy(probabilities: np.ndarray, split: Split) -> float:
    return float((probabilities.argmax(axis=1) == split.labels).mean())


def choose_threshold(first: np.ndarray, members: list[np.ndarray], validation: Split) -> float:
    scores = {
        t: accuracy(scheme(validation.images, first, members, t), validation) for t in THRESHOLDS
    }
    best = max(scores.values())
    return min(t for t, score in scores.items() if score >= best)


def page_digits() -> list[np.ndarray]:
    """Each bundled sample page's digit images, as the scan classifies them."""
    found = []
    for path in sorted(SAMPLES.iterdir()):
        for number in range(1, count_pages(str(path)) + 1):
            page = load_page(str(path), number)
            images = segment_page(page.image, page.dpi).images
            if len(images):
                found.append(images)
    return found


def seconds_per_page(classify, pages: list[np.ndarray], rounds: int = 5) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        for images in pages:
            classify(images)
        timings.append((time.perf_counter() - started) / len(pages))
    return float(np.median(timings))


def install(member_dirs: list[Path], consult_below: float) -> None:
    """The members into digitize/models (those of an earlier ensemble removed), then the card
    naming them, the threshold and the first model they were chosen for."""
    for old in SHIPPED_DIR.glob("ensemble_*.keras"):
        old.unlink()
    names = []
    for directory in member_dirs:
        name = f"ensemble_{directory.name}.keras"
        shutil.copyfile(directory / "member.keras", SHIPPED_DIR / name)
        names.append(name)
    card = {
        "members": names,
        "consult_below": consult_below,
        "first_model": model_sha256(SHIPPED_DIR / MODEL_NAME),
        "chosen_by": "benchmarks/ensemble.py (benchmarks/results/ensemble.md)",
    }
    (SHIPPED_DIR / CARD_NAME).write_text(json.dumps(card, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", type=Path)
    parser.add_argument("--member", type=Path, action="append", required=True)
    parser.add_argument("--install", action="store_true")
    args = parser.parse_args()
    mnist_dir = resolve_mnist_dir(args.mnist_dir)
    validation = training_data(mnist_dir, seed=SHIPPED_SPLIT_SEED).validation
    test = load_split(mnist_dir, "test")
    first_model = load_digit_model(SHIPPED_DIR / MODEL_NAME)
    member_models = [load_digit_model(d / "member.keras") for d in args.member]

    first_val = predict(first_model, validation.images)
    members_val = [predict(m, validation.images) for m in member_models]
    threshold = choose_threshold(first_val, members_val, validation)
    validation_lines = [
        f"| {t:g} | {accuracy(scheme(validation.images, first_val, members_val, t), validation):.2%} | "
        f"{(first_val.max(axis=1) < t).mean():.2%} |"
        for t in THRESHOLDS
    ]

    first_test = predict(first_model, test.images)  # the test split, read once from here on
    members_test = [predict(m, test.images) for m in member_models]
    chosen = scheme(test.images, first_test, members_test, threshold)
    everywhere = scheme(test.images, first_test, members_test, 2.0)
    right = chosen.argmax(axis=1) == test.labels
    rows = [
        ("first model alone (shipped)", first_test, "0 %"),
        *(
            (f"member {d.name} alone", p, "-")
            for d, p in zip(args.member, members_test, strict=True)
        ),
        ("mean of all, every digit", everywhere, "100 %"),
        (
            f"**the scheme: members below {threshold:g}**",
            chosen,
            f"{(first_test.max(axis=1) < threshold).mean():.2%}",
        ),
    ]
    test_lines = [
        f"| {name} | {accuracy(p, test):.2%} | {int((p.argmax(axis=1) != test.labels).sum())} | "
        f"{ece(p.max(axis=1), p.argmax(axis=1) == test.labels):.2%} | {consulted} |"
        for name, p, consulted in rows
    ]

    ensemble = Ensemble(member_models, threshold)
    pages = page_digits()

    def alone(images: np.ndarray) -> np.ndarray:
        batch = images.reshape(-1, 28, 28, 1).astype(np.float32)
        return np.asarray(first_model.predict_on_batch(batch))

    def with_members(images: np.ndarray) -> np.ndarray:
        return ensemble.second_opinion(images, alone(images))

    alone_seconds = seconds_per_page(alone, pages)
    scheme_seconds = seconds_per_page(with_members, pages)
    consulted_digits = sum(int(ensemble.consulted(alone(p)).sum()) for p in pages)
    total_digits = sum(len(p) for p in pages)

    lines = [
        f"Members: {', '.join(d.name for d in args.member)} "
        "(model_training/ensemble_members.py: the shipped split, other initial weights).",
        "",
        "Threshold, chosen on the 5,999 validation digits (no member trained on them):",
        "",
        "| consult below | validation accuracy | digits consulted |",
        "|---|---|---|",
        *validation_lines,
        "",
        f"Chosen: {threshold:g} (the lowest threshold with the best validation accuracy).",
        "",
        "MNIST test split (10,000 digits), read once:",
        "",
        "| | accuracy | wrong | ECE (15 bins) | digits consulted |",
        "|---|---|---|---|---|",
        *test_lines,
        "",
        f"Cost on the bundled sample forms ({len(pages)} pages, {total_digits} digit images, "
        f"{consulted_digits} consulted): classifying a page takes {alone_seconds * 1000:.1f} ms "
        f"alone and {scheme_seconds * 1000:.1f} ms with the scheme (median of 5 rounds).",
        "",
        f"Wrong with the scheme: {int((~right).sum())} of {len(right)}.",
    ]
    write_results("ensemble", "Ensemble consulted for doubtful digits", lines)
    if args.install:
        install(args.member, threshold)


if __name__ == "__main__":
    main()
