"""One page, read: clean it, find fields, find and normalize digits, classify them in one call.

    page image -> CleanPage -> fields -> digits (28x28) -> probabilities -> FieldReadings
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitize.cleanup import CleanPage, clean_page
from digitize.digits import FieldDigits, find_digits
from digitize.fields import Field, find_fields, find_ruling
from digitize.geometry import Box
from digitize.normalize import normalize_digit

DEFAULT_REVIEW_BELOW = 0.9  # chosen on the samples: README, "Review threshold"


@dataclass
class SegmentedPage:
    page: CleanPage
    fields: list[Field]
    digits: list[FieldDigits]  # one per field
    images: list[np.ndarray]  # one (n, 28, 28) stack of normalized digits per field

    def all_digits(self) -> np.ndarray:
        return np.concatenate([np.zeros((0, 28, 28), np.uint8), *self.images])


@dataclass
class FieldReading:
    field: str  # field_1 ... in reading order
    value: str
    confidence: float
    needs_review: bool
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the input page
    digit_confidences: list[float]
    doubts: list[str]
    outer: Box  # the field's border on the deskewed page, for crops


def segment_page(image: np.ndarray) -> SegmentedPage:
    page = clean_page(image)
    fields = find_fields(find_ruling(page.ink, page.dpi), page.dpi)
    digits = [find_digits(page.ink, f, page.dpi) for f in fields]
    images = [
        np.stack([normalize_digit(page.gray, d) for d in found.digits]).astype(np.uint8)
        if found.digits else np.zeros((0, 28, 28), np.uint8)
        for found in digits
    ]
    return SegmentedPage(page=page, fields=fields, digits=digits, images=images)


def read_fields(
    segmented: SegmentedPage, probabilities: np.ndarray, review_below: float
) -> list[FieldReading]:
    """Turn the page's digit probabilities (one row per digit, in field order) into readings."""
    readings = []
    start = 0
    height, width = segmented.page.gray.shape
    for number, (found, images) in enumerate(zip(segmented.digits, segmented.images), start=1):
        field_probabilities = probabilities[start:start + len(images)]
        start += len(images)
        predicted = field_probabilities.argmax(axis=1) if len(images) else np.array([], int)
        confidences = [float(p.max()) for p in field_probabilities]
        # The field is right only if every digit is: the product is that probability.
        confidence = float(np.prod(confidences)) if confidences else 1.0
        outer = segmented.fields[number - 1].box
        readings.append(
            FieldReading(
                field=f"field_{number}",
                value="".join(str(d) for d in predicted),
                confidence=confidence,
                needs_review=bool(found.doubts) or any(c < review_below for c in confidences),
                box=_fractions_of_input(outer, segmented.page.rotation, width, height),
                digit_confidences=confidences,
                doubts=list(found.doubts),
                outer=outer,
            )
        )
    return readings


def _fractions_of_input(box: Box, rotation: np.ndarray, width: int, height: int) -> tuple:
    """The box on the input page (before deskewing), as fractions of its width and height."""
    inverse = np.vstack([rotation, [0, 0, 1]])
    inverse = np.linalg.inv(inverse)[:2]
    corners = box.corners() @ inverse[:, :2].T + inverse[:, 2]
    original = Box.around(corners).clip(width, height)
    return (
        round(original.x0 / width, 4), round(original.y0 / height, 4),
        round(original.x1 / width, 4), round(original.y1 / height, 4),
    )
