"""The decision: from the classifier's probabilities to each field's value and its flags.

Which of a slot's alternative segmentations to take, how sure the field is, and every reason
a person should look at it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitize.geometry import Box
from digitize.records import Doubt, ReviewReason
from digitize.segmentation import SegmentedField, SegmentedPage

DEFAULT_REVIEW_BELOW = 0.99  # chosen on sample forms: benchmarks/review_threshold.py
# Alternative segmentations closer than this ratio of probabilities get a review flag.
AMBIGUITY_MARGIN = 4.0
# Doubts that say the box holds ink its value does not account for.
INK_REASONS = frozenset({ReviewReason.INK_LEFT_OVER, ReviewReason.FAINT_INK})


@dataclass(frozen=True)
class FieldReading:
    field: str  # field_1 ... in reading order
    kind: str  # "box", "comb", "cell" or "checkbox" (digitize.fields)
    value: str
    confidence: float
    digit_confidences: list[float]
    doubts: list[Doubt]  # every reason to look at it; none: not flagged
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the input page
    outer: Box  # the field's border on the deskewed page, for crops
    digit_images: np.ndarray  # (n, 28, 28) normalized digits behind `value`, one per digit

    @property
    def reasons(self) -> tuple[ReviewReason, ...]:
        """The distinct reasons, in the order first met."""
        return tuple(dict.fromkeys(d.reason for d in self.doubts))

    @property
    def needs_review(self) -> bool:
        return bool(self.doubts)


def decide_fields(
    segmented: SegmentedPage, probabilities: np.ndarray, review_below: float
) -> list[FieldReading]:
    """Every field's reading, from the probabilities of every row of `segmented.images`."""
    if len(probabilities) != len(segmented.images):
        raise ValueError(
            f"{len(probabilities)} probability rows for {len(segmented.images)} digit images"
        )
    height, width = segmented.page.gray.shape
    return [
        _decide(number, found, segmented, probabilities, review_below, width, height)
        for number, found in enumerate(segmented.fields, start=1)
    ]


def _decide(
    number: int,
    found: SegmentedField,
    segmented: SegmentedPage,
    probabilities: np.ndarray,
    review_below: float,
    width: int,
    height: int,
) -> FieldReading:
    rows: list[int] = []
    doubts = list(found.doubts)
    for slot in found.slots:
        chosen, doubt = choose_reading([probabilities[list(o.rows)] for o in slot.options])
        rows.extend(slot.options[chosen].rows)
        if doubt is not None:
            doubts.append(doubt)
    digits = probabilities[rows]
    confidences = [float(p.max()) for p in digits]
    low = [(i, c) for i, c in enumerate(confidences, start=1) if c < review_below]
    if low:
        position, least = min(low, key=lambda pair: pair[1])
        doubts.insert(
            0,
            Doubt(
                ReviewReason.LOW_CONFIDENCE,
                f"digit {position} is {least:.0%} sure (below {review_below:g})",
            ),
        )
    value = "".join(str(int(p.argmax())) for p in digits)
    if found.checkbox is not None:  # a mark, not digits: sure unless the mark was in doubt
        value = found.checkbox.value
        confidences = []
    # The field is right only if every digit is: the product is that probability.
    confidence = float(np.prod(confidences)) if confidences else 1.0
    if found.checkbox is not None and doubts:
        confidence = 0.5
    if not value and any(d.reason in INK_REASONS for d in doubts):
        # Read as empty while the box holds ink: nothing says how likely empty is right, and
        # 0 puts it first in the review order (never an empty reading "sure" at 1.0).
        confidence = 0.0
    return FieldReading(
        field=f"field_{number}",
        kind=found.field.kind,
        value=value,
        confidence=confidence,
        digit_confidences=confidences,
        doubts=doubts,
        box=_fractions_of_input(found.field.box, segmented.page.rotation, width, height),
        outer=found.field.box,
        digit_images=segmented.images[rows],
    )


def choose_reading(options: list[np.ndarray]) -> tuple[int, Doubt | None]:
    """Which of alternative segmentations (each a (digits, 10) array of probabilities) is
    likelier: the one whose digits are all right with the highest probability. Close calls are
    doubts for the reviewer."""
    if len(options) == 1:
        return 0, None
    likelihoods = [float(np.prod(option.max(axis=1))) for option in options]
    order = np.argsort(likelihoods)[::-1]
    best, runner_up = likelihoods[order[0]], likelihoods[order[1]]
    doubt = None
    if best < AMBIGUITY_MARGIN * runner_up:
        counts = " or ".join(str(len(options[i])) for i in order[:2])
        doubt = Doubt(
            ReviewReason.SEGMENTATION,
            f"ink could be {counts} digits ({best:.2f} vs {runner_up:.2f})",
        )
    return int(order[0]), doubt


def _fractions_of_input(
    box: Box, rotation: np.ndarray, width: int, height: int
) -> tuple[float, float, float, float]:
    """The box on the input page (before deskewing), as fractions of its width and height."""
    inverse = np.linalg.inv(np.vstack([rotation, [0, 0, 1]]))[:2]
    corners = box.corners() @ inverse[:, :2].T + inverse[:, 2]
    original = Box.around(corners).clip(width, height)
    return (
        round(original.x0 / width, 4),
        round(original.y0 / height, 4),
        round(original.x1 / width, 4),
        round(original.y1 / height, 4),
    )
