"""The digit classifier: what the page pipeline needs of one, and the trained Keras model.

The pipeline only needs `probabilities`; tests pass a fake (`tests/fakes.py`) so they run
without TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from digitize.ensemble import Ensemble, read_ensemble_card
from digitize.errors import ModelError
from digitize.model_files import (
    MODEL_NAME,
    SHIPPED_DIR,
    active_model_dir,
    describe_model,
    model_card,
)
from digitize.not_digit import NotDigitModel
from digitize.tensorflow_startup import quiet_tensorflow_startup


class Classifier(Protocol):
    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        """(n, 28, 28) uint8 digits, white on black -> (n, 10) class probabilities."""
        ...

    def not_digit(self, digits: np.ndarray) -> np.ndarray:
        """(n, 28, 28) uint8 marks -> (n,) bools: which are no digit at all (a letter, an X)."""
        ...


class ClassifierLoader(Protocol):
    """Makes a classifier in the process that uses it (picklable: it travels to workers)."""

    def __call__(self, threads: int | None = None) -> Classifier:
        """`threads`: at most this many threads for the classifier (None: as it likes)."""
        ...

    def check(self) -> None:
        """Raise ModelError now if the classifier cannot be there (cheap: no loading)."""
        ...

    def describe(self) -> str:
        """Which model, for the scan's summary (e.g. its path and test accuracy)."""
        ...


def load_digit_model(path: Path):  # -> keras.Model, imported only when a model is needed
    """The Keras model in `path`, or a one-line ModelError saying why it cannot be loaded."""
    with quiet_tensorflow_startup():
        import keras  # here, not at import time: `--help` should not pay for it

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a damaged or foreign file
        raise ModelError(f"{path}: cannot load the digit model ({error})") from error


class DigitClassifier:
    def __init__(self, model_dir: Path | None = None):
        self.model_dir = Path(model_dir) if model_dir else active_model_dir()
        path = self.model_dir / MODEL_NAME
        if not path.is_file():
            raise ModelError(f"{path}: no digit model there (run `digitize retrain`)")
        self.model = load_digit_model(path)
        # Only beside the shipped digit model: a retrained one has learnt the user's own styles
        # (seven-segment digits, say), which the shipped not-a-digit model takes for marks
        # (tests/test_learning_loop.py: 44 % -> 10 % before retraining with it, 18 % after).
        shipped = self.model_dir.resolve() == SHIPPED_DIR.resolve()
        self.not_digit_model = NotDigitModel.load() if shipped else None
        self.ensemble = Ensemble.load() if shipped else None  # for the same reason

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        if len(digits) == 0:
            return np.zeros((0, 10), np.float32)
        batch = digits.reshape(-1, 28, 28, 1).astype(np.float32)
        probabilities = np.asarray(self.model.predict_on_batch(batch))
        if self.ensemble is None:
            return probabilities
        return self.ensemble.second_opinion(digits, probabilities)

    def not_digit(self, digits: np.ndarray) -> np.ndarray:
        if self.not_digit_model is None:
            return np.zeros(len(digits), bool)
        return self.not_digit_model.scores(digits) > self.not_digit_model.threshold


@dataclass(frozen=True)
class KerasModel:
    """Loads the Keras model in `model_dir` (a ClassifierLoader)."""

    model_dir: Path

    def __call__(self, threads: int | None = None) -> DigitClassifier:
        if threads is not None:
            with quiet_tensorflow_startup():
                import tensorflow as tf

            # Before the model loads: TensorFlow fixes its thread pools when it first runs.
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        return DigitClassifier(self.model_dir)

    def check(self) -> None:
        path = self.model_dir / MODEL_NAME
        if not path.is_file():
            raise ModelError(f"{path}: no digit model there (run `digitize retrain`)")
        model_card(self.model_dir)  # a damaged card is one line now, not after the batch
        if self.model_dir.resolve() == SHIPPED_DIR.resolve():
            read_ensemble_card(self.model_dir)  # so is a damaged ensemble card

    def describe(self) -> str:
        return describe_model(self.model_dir)
