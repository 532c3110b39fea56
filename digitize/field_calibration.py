"""A field's confidence as a probability: how often a field read with it is exactly right.

The product of a field's digit confidences ("raw") is that probability only if segmentation
is perfect and the digits' softmax is calibrated on forms as on MNIST; on generated forms
neither holds (zoo dev seeds 101-112: the 164 fields read wrong averaged 0.75 raw, 36 of
them at 0.99 or more). So the reported confidence is a logistic regression on what is known
when the field is decided: the log of the raw confidence, whether nothing was read, whether
the field is flagged, and one term per review reason (a flag for segmentation or left-over
ink says more than the digits do). `model_training/field_calibration.py` fits it on
generated forms; `benchmarks/field_calibration.py` measures it. Only the reported
`confidence` changes: which fields are flagged does not (flags come from the digits'
confidences and the doubts, `digitize.decision`).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from digitize.records import ReviewReason

CALIBRATION_FILE = Path(__file__).parent / "models" / "field_calibration.json"
# Doubts that say the box holds ink its value does not account for (digitize.decision).
INK_REASONS = frozenset(
    {ReviewReason.INK_LEFT_OVER, ReviewReason.FAINT_INK, ReviewReason.NOT_DIGITS}
)
# The reasons digitize.decision can give, each with a weight of its own. Others (a template's
# rules come later) count only as "flagged".
REASON_FEATURES = tuple(
    str(reason)
    for reason in (
        ReviewReason.LOW_CONFIDENCE,
        ReviewReason.SEGMENTATION,
        ReviewReason.BORDER_TOUCH,
        ReviewReason.INK_LEFT_OVER,
        ReviewReason.FAINT_INK,
        ReviewReason.NOT_DIGITS,
    )
)
FEATURES = ("log_raw", "empty_reading", "flagged", *REASON_FEATURES)
# Far below the least raw confidence of a field read on dev forms (0.06): keeps the log finite.
RAW_FLOOR = 1e-6
# "An empty reading with ink in it is never sure", whatever a refit says. Such readings are
# mostly right but fail a page at a time: zoo dev seeds 101-112, 20 of 21 right with the
# shipped reader; 24 of 35 with an earlier one, whose 11 wrong were pages of seeds 107 and
# 109 that lost their numbers (10 on one page). The regression gives them 0.6-0.9.
EMPTY_WITH_INK_AT_MOST = 0.9


def raw_confidence(digit_confidences: Iterable[float], value: str, reasons: Iterable[str]) -> float:
    """The product of the digits' confidences: the field is right only if every digit is. An
    empty reading of a box with ink in it is 0 (nothing says how likely empty is right, and
    0 puts it first in the review order), a truly empty box 1."""
    confidences = list(digit_confidences)
    if not value and any(reason in INK_REASONS for reason in reasons):
        return 0.0
    return float(np.prod(confidences)) if confidences else 1.0


def field_features(
    digit_confidences: Iterable[float], value: str, reasons: Iterable[str]
) -> dict[str, float]:
    """The calibration's inputs by name (FEATURES). An empty reading has no digits: its log
    raw confidence is 0 and `empty_reading` carries it."""
    found = {str(reason) for reason in reasons}
    product = float(np.prod(list(digit_confidences)))
    return {
        "log_raw": math.log(max(product, RAW_FLOOR)),
        "empty_reading": float(not value),
        "flagged": float(bool(found)),
        **{reason: float(reason in found) for reason in REASON_FEATURES},
    }


def _sigmoid(log_odds: float) -> float:
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1.0 + odds)


@dataclass(frozen=True)
class FieldCalibration:
    """Log-odds that the field is right = intercept + the sum of weight × feature."""

    intercept: float
    weights: dict[str, float]  # by feature name (FEATURES); a missing one weighs nothing

    def log_odds(self, features: dict[str, float]) -> float:
        return self.intercept + sum(self.weights.get(name, 0.0) * x for name, x in features.items())

    def probability(
        self, digit_confidences: Iterable[float], value: str, reasons: Iterable[str]
    ) -> float:
        """An empty box read empty and unflagged keeps its 1: the fit is on the fields that
        were read (`model_training.field_calibration`)."""
        confidences, reasons = list(digit_confidences), list(reasons)
        if not value and not reasons:
            return raw_confidence(confidences, value, reasons)
        probability = _sigmoid(self.log_odds(field_features(confidences, value, reasons)))
        if not value and any(reason in INK_REASONS for reason in reasons):
            return min(probability, EMPTY_WITH_INK_AT_MOST)
        return probability

    def to_json(self, details: dict) -> str:
        model = {"intercept": self.intercept, "weights": self.weights}
        return json.dumps({**model, **details}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> FieldCalibration:
        data = json.loads(text)
        weights = {str(name): float(weight) for name, weight in data["weights"].items()}
        return cls(float(data["intercept"]), weights)


@cache
def shipped_calibration() -> FieldCalibration | None:
    """The calibration shipped beside the model; None (raw confidences) when there is none,
    or when it is not one this code reads (a file of another version, met while code and file
    were changed under a running scan: every page was lost to a KeyError). Values and flags
    do not depend on it, so a warning, not a lost page."""
    try:
        text = CALIBRATION_FILE.read_text()
    except FileNotFoundError:
        return None
    try:
        return FieldCalibration.from_json(text)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        warnings.warn(
            f"{CALIBRATION_FILE} is no field calibration ({error!r}): confidences stay raw",
            stacklevel=2,
        )
        return None
