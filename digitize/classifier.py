"""The digit classifier: the trained Keras model, loaded once, called once per page."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digitize.model_files import MODEL_NAME, active_model_dir
from digitize.tensorflow_startup import quiet_tensorflow_startup


class ModelError(Exception):
    """The model could not be loaded; the message is one line for the user."""


class DigitClassifier:
    def __init__(self, model_dir: Path | None = None):
        with quiet_tensorflow_startup():
            import keras  # here, not at import time: `--help` should not pay for it

        self.model_dir = Path(model_dir) if model_dir else active_model_dir()
        path = self.model_dir / MODEL_NAME
        if not path.is_file():
            raise ModelError(f"{path}: no digit model there (run `digitize retrain`)")
        try:
            self.model = keras.models.load_model(path, compile=False)
        except Exception as error:  # Keras raises many types for a damaged or foreign file
            raise ModelError(f"{path}: cannot load the digit model ({error})") from error

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        """(n, 28, 28) uint8 digits, white on black -> (n, 10) class probabilities."""
        if len(digits) == 0:
            return np.zeros((0, 10), np.float32)
        batch = digits.reshape(-1, 28, 28, 1).astype(np.float32)
        return np.asarray(self.model.predict_on_batch(batch))
