"""Second opinions for doubtful digits: the ensemble's extra members, consulted only there.

The digit model is sure of almost every digit it reads (on MNIST's validation digits, 99 % of
them at 0.99 or more), and where it is sure it is nearly always right. Where it is not, the
average of several models trained apart is right more often than any one of them. So the
extra members (`model_training/ensemble_members.py`: the shipped model's training digits,
other initial weights, other kernels) read only the digits whose top probability from the
first model is below `consult_below`, and for those the scan uses the mean of all models'
probabilities. A page's cost barely moves: the members see a few digits of it.

The members and the threshold are listed in `ensemble.json` beside the shipped model
(`benchmarks/ensemble.py` chose the threshold on the validation digits, and measured the
scheme on the test split once). Like the not-a-digit model they serve the shipped model
only: a retrained one has learnt styles the members never saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitize.errors import ModelError
from digitize.messages import one_line
from digitize.model_files import SHIPPED_DIR

CARD_NAME = "ensemble.json"


@dataclass
class Ensemble:
    members: list  # keras.Model each
    consult_below: float  # the first model's top probability under which members are asked

    @classmethod
    def load(cls, model_dir: Path = SHIPPED_DIR) -> Ensemble | None:
        """The members listed in `model_dir`'s ensemble card, or None without a card (the
        first model then reads alone); ModelError (one line) when a member cannot load."""
        card_path = Path(model_dir) / CARD_NAME
        if not card_path.is_file():
            return None
        import keras

        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            consult_below = float(card["consult_below"])
            paths = [Path(model_dir) / str(name) for name in card["members"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{card_path}: cannot read the ensemble card ({error})") from None
        members = []
        for path in paths:
            try:
                members.append(keras.models.load_model(path, compile=False))
            except Exception as error:  # Keras raises many types for a damaged or missing file
                raise ModelError(
                    f"{path}: cannot load an ensemble member ({one_line(error)})"
                ) from error
        return cls(members, consult_below)

    def consulted(self, probabilities: np.ndarray) -> np.ndarray:
        """Which rows of the first model's (n, 10) probabilities the members are asked about."""
        return probabilities.max(axis=1) < self.consult_below

    def second_opinion(self, digits: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """The first model's `probabilities` of `digits` ((n, 28, 28) uint8), with each doubtful
        row replaced by the mean of all models' probabilities."""
        rows = np.flatnonzero(self.consulted(probabilities))
        if rows.size == 0 or not self.members:
            return probabilities
        batch = digits[rows].reshape(-1, 28, 28, 1).astype(np.float32)
        opinions = [probabilities[rows]]
        opinions += [np.asarray(m.predict_on_batch(batch)) for m in self.members]
        result = probabilities.copy()
        result[rows] = np.mean(opinions, axis=0)
        return result
