"""Measuring a trained model: accuracy, per-class precision and recall, confusion matrix, curves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and CI
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from model_training.hypermodel import NUM_CLASSES, as_model_input
from model_training.mnist import Split

CONFUSION_CSV = "confusion_matrix.csv"
CONFUSION_PNG = "confusion_matrix.png"
PER_CLASS_CSV = "per_class.csv"
CURVES_PNG = "training_curves.png"


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    confusion: np.ndarray  # rows: true digit, columns: predicted digit
    per_class: pd.DataFrame  # digit, precision, recall, support


def evaluate(model: keras.Model, split: Split) -> Evaluation:
    predicted = model.predict(as_model_input(split.images), batch_size=512, verbose=0).argmax(1)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (split.labels.astype(int), predicted), 1)
    correct = np.diag(confusion)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(correct / confusion.sum(axis=0))
        recall = np.nan_to_num(correct / confusion.sum(axis=1))
    per_class = pd.DataFrame(
        {
            "digit": range(NUM_CLASSES),
            "precision": precision.round(5),
            "recall": recall.round(5),
            "support": confusion.sum(axis=1),
        }
    )
    return Evaluation(
        accuracy=float(correct.sum() / confusion.sum()), confusion=confusion, per_class=per_class
    )


def write_report(evaluation: Evaluation, history: dict, directory: Path) -> list[Path]:
    """Confusion matrix (CSV, PNG), per-class figures (CSV), training curves (PNG)."""
    directory.mkdir(parents=True, exist_ok=True)
    digits = [str(d) for d in range(NUM_CLASSES)]
    pd.DataFrame(evaluation.confusion, index=digits, columns=digits).rename_axis(
        "true \\ predicted"
    ).to_csv(directory / CONFUSION_CSV)
    evaluation.per_class.to_csv(directory / PER_CLASS_CSV, index=False)
    _plot_confusion(evaluation, directory / CONFUSION_PNG)
    _plot_curves(history, directory / CURVES_PNG)
    return [directory / name for name in (CONFUSION_CSV, CONFUSION_PNG, PER_CLASS_CSV, CURVES_PNG)]


def _plot_confusion(evaluation: Evaluation, path: Path) -> None:
    # Log scale: the diagonal is ~1000 per digit and the errors are single figures.
    figure, axes = plt.subplots(figsize=(6, 5.5))
    image = axes.imshow(np.log1p(evaluation.confusion), cmap="Blues")
    for (row, col), count in np.ndenumerate(evaluation.confusion):
        if count:
            colour = "white" if row == col else "black"
            axes.text(col, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    axes.set(
        xticks=range(NUM_CLASSES),
        yticks=range(NUM_CLASSES),
        xlabel="predicted",
        ylabel="true",
        title=f"MNIST test: {evaluation.accuracy:.2%} accurate",
    )
    figure.colorbar(image, ax=axes, label="log(1 + count)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _plot_curves(history: dict, path: Path) -> None:
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, len(history.get("loss", [])) + 1)
    for key, axes in (("loss", loss_axes), ("accuracy", accuracy_axes)):
        for prefix, label in (("", "train"), ("val_", "validation")):
            if prefix + key in history:
                axes.plot(epochs, history[prefix + key], marker="o", label=label)
        axes.set(xlabel="epoch", ylabel=key, title=key)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
