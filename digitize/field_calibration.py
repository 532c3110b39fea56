"""A field's confidence as a probability: how often a field read with it is exactly right.

The product of a field's digit confidences is that probability only if segmentation is
perfect and the digits' softmax is calibrated on forms as on MNIST; on generated forms
neither holds (zoo dev seeds: fields read wrong averaged 0.86, some at 0.99 or more). So the
product ("raw") is mapped through a curve fitted on generated forms, one curve per kind of
doubt, since a flag for segmentation or left-over ink says more than the digits do
(`model_training/field_calibration.py` fits them; `benchmarks/field_calibration.py` measures
the result on fresh seeds). Only the reported `confidence` changes: which fields are flagged
does not (flags come from the digits' confidences and the doubts, `digitize.decision`).
"""

from __future__ import annotations

import json
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


def raw_confidence(digit_confidences: Iterable[float], value: str, reasons: Iterable[str]) -> float:
    """The product of the digits' confidences: the field is right only if every digit is. An
    empty reading of a box with ink in it is 0 (nothing says how likely empty is right, and
    0 puts it first in the review order), a truly empty box 1."""
    confidences = list(digit_confidences)
    if not value and any(reason in INK_REASONS for reason in reasons):
        return 0.0
    return float(np.prod(confidences)) if confidences else 1.0


def doubt_group(reasons: Iterable[str]) -> str:
    """Which curve a field's confidence goes through: unflagged, flagged only because a digit
    is unsure, or doubted for anything else (segmentation, ink, letters, a border)."""
    found = set(reasons)
    if not found:
        return "unflagged"
    if found == {ReviewReason.LOW_CONFIDENCE}:
        return "low_confidence"
    return "doubted"


@dataclass(frozen=True)
class Curve:
    """A non-decreasing map from raw confidence to probability, by its knots."""

    raw: tuple[float, ...]
    probability: tuple[float, ...]

    def __call__(self, raw: float) -> float:
        return float(np.interp(raw, self.raw, self.probability))


@dataclass(frozen=True)
class FieldCalibration:
    curves: dict[str, Curve]

    def probability(self, raw: float, value: str, reasons: Iterable[str]) -> float:
        """An empty box read empty and unflagged keeps its 1: the curves are fitted on the
        fields that were read (`model_training.field_calibration`)."""
        reasons = list(reasons)
        if not value and not reasons:
            return raw
        curve = self.curves.get(doubt_group(reasons))
        return raw if curve is None else curve(raw)

    def to_json(self, details: dict) -> str:
        curves = {
            name: {"raw": list(curve.raw), "probability": list(curve.probability)}
            for name, curve in self.curves.items()
        }
        return json.dumps({"curves": curves, **details}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> FieldCalibration:
        data = json.loads(text)
        return cls(
            {
                name: Curve(tuple(curve["raw"]), tuple(curve["probability"]))
                for name, curve in data["curves"].items()
            }
        )


@cache
def shipped_calibration() -> FieldCalibration | None:
    """The curves shipped beside the model; None (raw confidences) when there are none."""
    try:
        return FieldCalibration.from_json(CALIBRATION_FILE.read_text())
    except FileNotFoundError:
        return None
