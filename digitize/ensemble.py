"""Second opinions for doubtful digits: the ensemble's extra members, consulted only there.

Where the digit model is sure it is nearly always right; where it is not, the mean of
several models trained apart is right more often than one (benchmarks/results/ensemble.md).
So the extra members (`model_training/ensemble_members.py`: the shipped model's training
digits, other initial weights, another kernel) read only the digits whose top probability
from the first model is below `consult_below`, and for those the scan takes the mean of all
models' probabilities. The members see a few digits of a page, not all of them.

`ensemble.json` beside the shipped model lists the members, the threshold (chosen by
`benchmarks/ensemble.py` on validation digits) and the sha256 of the first model they were
chosen for. Like the not-a-digit model they serve that model only: a retrained one has
learnt styles the members never saw, and a different first model (a retrain installed over
the shipped folder) leaves the ensemble unused rather than mismatched.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitize.errors import ModelError
from digitize.messages import one_line
from digitize.model_files import MODEL_NAME, SHIPPED_DIR

CARD_NAME = "ensemble.json"


@dataclass(frozen=True)
class EnsembleCard:
    members: list[Path]
    consult_below: float
    first_model_sha256: str


def model_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_ensemble_card(model_dir: Path = SHIPPED_DIR) -> EnsembleCard | None:
    """The ensemble card in `model_dir`, or None when there is none or it was made for
    another first model; ModelError (one line) when it is damaged or a member is missing.
    Cheap: nothing is loaded."""
    path = Path(model_dir) / CARD_NAME
    if not path.is_file():
        return None
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelError(f"{path}: cannot read the ensemble card ({one_line(error)})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{path}: the ensemble card is not a JSON object")
    members, below, sha = card.get("members"), card.get("consult_below"), card.get("first_model")
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise ModelError(f"{path}: the ensemble card's members are not a list of file names")
    if isinstance(below, bool) or not isinstance(below, (int, float)) or not math.isfinite(below):
        raise ModelError(f"{path}: the ensemble card's consult_below is not a number")
    if not isinstance(sha, str):
        raise ModelError(f"{path}: the ensemble card does not name its first model's sha256")
    first = Path(model_dir) / MODEL_NAME
    if not first.is_file() or model_sha256(first) != sha:
        return None  # made for another first model
    paths = [Path(model_dir) / name for name in members]
    for member in paths:
        if not member.is_file():
            raise ModelError(f"{member}: an ensemble member named in {path} is not there")
    return EnsembleCard(paths, float(below), sha)


@dataclass
class Ensemble:
    members: list  # keras.Model each (anything with predict_on_batch)
    consult_below: float  # the first model's top probability under which members are asked

    @classmethod
    def load(cls, model_dir: Path = SHIPPED_DIR) -> Ensemble | None:
        """The members of `model_dir`'s ensemble card (`read_ensemble_card`), or None (the
        first model then reads alone); ModelError (one line) when one cannot load."""
        card = read_ensemble_card(model_dir)
        if card is None:
            return None
        import keras  # here: a scan without an ensemble card does not wait for it

        members = []
        for path in card.members:
            try:
                members.append(keras.models.load_model(path, compile=False))
            except Exception as error:  # Keras raises many types for a damaged file
                raise ModelError(
                    f"{path}: cannot load an ensemble member ({one_line(error)})"
                ) from error
        return cls(members, card.consult_below)

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
