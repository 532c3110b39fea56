"""The not-a-digit model: whether a mark cut out as a digit is one at all.

The digit model knows ten classes and reads a letter, an X filler or a tick as its nearest
digit, often sure of it. This small model (model_training/not_digit_model.py: MNIST digits
against letters from fonts and synthesized pen marks) gives p(not a digit); above the
threshold on its card the scan leaves the mark out of the value and flags `not_digits`.
It is shipped beside the digit model and not retrained with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitize.errors import ModelError
from digitize.model_files import SHIPPED_DIR

MODEL_NAME = "not_digit.keras"
CARD_NAME = "not_digit.json"


@dataclass
class NotDigitModel:
    model: object  # keras.Model
    threshold: float

    @classmethod
    def load(cls, model_dir: Path = SHIPPED_DIR) -> NotDigitModel | None:
        """The shipped model, or None when it is not there (the scan then reads every mark as
        a digit, as before the model existed)."""
        path, card_path = Path(model_dir) / MODEL_NAME, Path(model_dir) / CARD_NAME
        if not path.is_file():
            return None
        import keras

        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            threshold = float(card["threshold"])
            model = keras.models.load_model(path, compile=False)
        except Exception as error:  # Keras raises many types for a damaged file
            raise ModelError(f"{path}: cannot load the not-a-digit model ({error})") from error
        return cls(model, threshold)

    def scores(self, digits: np.ndarray) -> np.ndarray:
        """(n, 28, 28) uint8 marks -> (n,) p(not a digit)."""
        if len(digits) == 0:
            return np.zeros(0, np.float32)
        batch = digits.reshape(-1, 28, 28, 1).astype(np.float32)
        return np.asarray(self.model.predict_on_batch(batch)).reshape(-1)  # type: ignore[attr-defined]
