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

DEFAULT_REVIEW_BELOW = 0.99  # chosen on sample forms: benchmarks/review_threshold.py
# Alternative segmentations closer than this ratio of probabilities get a review flag.
AMBIGUITY_MARGIN = 4.0


@dataclass
class SegmentedPage:
    page: CleanPage
    fields: list[Field]
    digits: list[FieldDigits]  # one per field
    images: np.ndarray  # (n, 28, 28): every candidate of every field, in traversal order


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
    digit_images: np.ndarray  # (n, 28, 28) normalized digits behind `value`, one per digit


def segment_page(image: np.ndarray) -> SegmentedPage:
    page = clean_page(image)
    fields = find_fields(find_ruling(page.ink, page.dpi), page.dpi)
    digits = [find_digits(page, f) for f in fields]
    candidates = [c for found in digits for c in found.candidates()]
    images = np.zeros((len(candidates), 28, 28), np.uint8)
    for i, candidate in enumerate(candidates):
        images[i] = normalize_digit(page.gray, candidate)
    return SegmentedPage(page=page, fields=fields, digits=digits, images=images)


def read_fields(
    segmented: SegmentedPage, probabilities: np.ndarray, review_below: float
) -> list[FieldReading]:
    """Turn the probabilities of every candidate (in `images` order) into field readings."""
    readings = []
    rows = iter(range(len(probabilities)))
    height, width = segmented.page.gray.shape
    for number, (found, outer) in enumerate(zip(segmented.digits, segmented.fields), start=1):
        chosen_rows: list[int] = []
        doubts = list(found.doubts)
        for slot in found.slots:
            options = [[next(rows) for _ in option] for option in slot.options]
            chosen, doubt = choose_reading([probabilities[option] for option in options])
            chosen_rows.extend(options[chosen])
            if doubt:
                doubts.append(doubt)
        digits = [probabilities[r] for r in chosen_rows]
        confidences = [float(p.max()) for p in digits]
        readings.append(
            FieldReading(
                field=f"field_{number}",
                value="".join(str(int(p.argmax())) for p in digits),
                # The field is right only if every digit is: the product is that probability.
                confidence=float(np.prod(confidences)) if confidences else 1.0,
                needs_review=bool(doubts) or any(c < review_below for c in confidences),
                box=_fractions_of_input(outer.box, segmented.page.rotation, width, height),
                digit_confidences=confidences,
                doubts=doubts,
                outer=outer.box,
                digit_images=segmented.images[chosen_rows],
            )
        )
    return readings


def read_image(image: np.ndarray, classifier, review_below: float = DEFAULT_REVIEW_BELOW
               ) -> tuple[SegmentedPage, list[FieldReading]]:
    """A page image read start to end (for callers that need no timing split)."""
    segmented = segment_page(image)
    return segmented, read_fields(segmented, classifier.probabilities(segmented.images), review_below)


def field_image(segmented: SegmentedPage, reading: FieldReading, pad: int = 4) -> np.ndarray:
    """The field as it looks on the straightened page, border included."""
    height, width = segmented.page.gray.shape
    return segmented.page.gray[reading.outer.grow(pad).clip(width, height).slice()]


def choose_reading(options: list[np.ndarray]) -> tuple[int, str]:
    """Which of alternative segmentations (each a (digits, 10) array of probabilities) is
    likelier: the one whose digits are all right with the highest probability. Close calls are
    doubts for the reviewer."""
    if len(options) == 1:
        return 0, ""
    likelihoods = [float(np.prod(option.max(axis=1))) for option in options]
    order = np.argsort(likelihoods)[::-1]
    best, runner_up = likelihoods[order[0]], likelihoods[order[1]]
    doubt = ""
    if best < AMBIGUITY_MARGIN * runner_up:
        counts = " or ".join(str(len(options[i])) for i in order[:2])
        doubt = f"ink could be {counts} digits ({best:.2f} vs {runner_up:.2f})"
    return int(order[0]), doubt


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
