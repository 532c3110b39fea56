"""Installing a trained model into a digitize model directory, atomically and only if better."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import keras

from digitize.errors import ModelError
from digitize.model_files import CARD_NAME, MODEL_NAME, read_card


@dataclass(frozen=True)
class InstallDecision:
    installed: bool
    reason: str


def installed_accuracy(model_dir: Path) -> float | None:
    """The MNIST test accuracy on the card of the model in `model_dir`, None when there is no
    card; ModelError (one line) when the card is damaged or does not say."""
    card = read_card(model_dir)
    if card is None:
        return None
    value = card.get("test_accuracy")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelError(f"{Path(model_dir) / CARD_NAME}: the model card has no test_accuracy")
    return float(value)


def decide(new_accuracy: float, model_dir: Path, tolerance: float, force: bool) -> InstallDecision:
    """Install when the new test accuracy is at least the installed one's (minus `tolerance`)."""
    old = installed_accuracy(model_dir)
    if old is None:
        return InstallDecision(True, f"no model in {model_dir} yet")
    if force:
        return InstallDecision(True, f"--force (installed model had {old:.2%})")
    if new_accuracy >= old - tolerance:
        return InstallDecision(True, f"{new_accuracy:.2%} >= installed {old:.2%} - {tolerance:.2%}")
    return InstallDecision(
        False,
        f"{new_accuracy:.2%} < installed {old:.2%} - {tolerance:.2%}; use --force to replace it",
    )


def install(model: keras.Model, card: dict, report_files: list[Path], model_dir: Path) -> None:
    """Write the model, its report files and its card into `model_dir`, each atomically.

    The card goes last: a reader that finds a card finds the model it describes.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=model_dir, prefix=".staging-") as staging:
        staged = Path(staging)
        _without_optimizer(model).save(staged / MODEL_NAME)
        for path in report_files:
            shutil.copyfile(path, staged / path.name)
        (staged / CARD_NAME).write_text(json.dumps(card, indent=2, default=str) + "\n")
        # os.replace within one directory tree is atomic on POSIX: readers see old or new.
        for name in [MODEL_NAME, *(path.name for path in report_files), CARD_NAME]:
            os.replace(staged / name, model_dir / name)


def _without_optimizer(model: keras.Model) -> keras.Model:
    # Adam's two slots per weight would triple the file; digitize only predicts. (Keras 3's
    # clone_model compiles the clone like the original, so rebuild from the config instead.)
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone
