"""The decision: from the classifier's probabilities to each field's value and its flags.

Which of a slot's alternative segmentations to take, how sure the field is, and every reason
a person should look at it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field

import numpy as np

from digitize.field_calibration import INK_REASONS, raw_confidence, shipped_calibration
from digitize.geometry import Box
from digitize.records import Doubt, ReviewReason
from digitize.segmentation import READ_AT_ITS_OWN_THRESHOLD, SegmentedField, SegmentedPage
from digitize.split_fields import cut_in_two

DEFAULT_REVIEW_BELOW = 0.99  # chosen on sample forms: benchmarks/review_threshold.py
# Alternative segmentations closer than this ratio of probabilities get a review flag.
AMBIGUITY_MARGIN = 4.0
# A label cell is print when this share of its marks are letters: the election sheets'
# printed labels at 75-150 DPI: 30-70 %; a wide cell of handwritten digits: ~0.2 %. So is
# ink outside every box (`unboxed`): zoo titles on noisy pages Tesseract could not read and
# a NIST form's handwritten paragraph had marks called letters; of the 8 dev zoo fields
# whose box was missed and that the unboxed ink recovered, none had one.
LABEL_LETTER_SHARE = 0.25
# Other table cells only when they hold a word: this many marks, half of them letters.
WORD_MARKS = 3
WORD_LETTER_SHARE = 0.5


@dataclass(frozen=True)
class FieldReading:
    field: str  # field_1 ... in reading order
    kind: str  # "box", "comb", "cell", "label", "checkbox" or "unboxed" (digitize.fields)
    value: str
    confidence: float
    digit_confidences: list[float]
    doubts: list[Doubt]  # every reason to look at it; none: not flagged
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the input page
    outer: Box  # the field's border on the deskewed page, for crops
    # (n, 28, 28) normalized marks behind `value`, one per mark: the digits, and the marks left
    # out as no digit (a style the not-a-digit model does not know is corrected and learnt)
    digit_images: np.ndarray
    # (len(value), 10) softmax rows of the digits in `value`: a rule may take a runner-up
    # reading of an uncertain digit (digitize.rules)
    digit_probabilities: np.ndarray = dataclass_field(default_factory=lambda: np.zeros((0, 10)))
    cells: int = 1  # a comb's cells (a form template records them)

    @property
    def reasons(self) -> tuple[ReviewReason, ...]:
        """The distinct reasons, in the order first met."""
        return tuple(dict.fromkeys(d.reason for d in self.doubts))

    @property
    def needs_review(self) -> bool:
        return bool(self.doubts)


def decide_fields(
    segmented: SegmentedPage,
    probabilities: np.ndarray,
    review_below: float,
    not_digit: np.ndarray | None = None,
) -> list[FieldReading]:
    """Every field's reading, from the probabilities of every row of `segmented.images` and
    which rows are no digit at all (`not_digit`, bools; None: all are digits)."""
    if len(probabilities) != len(segmented.images):
        raise ValueError(
            f"{len(probabilities)} probability rows for {len(segmented.images)} digit images"
        )
    if not_digit is None:
        not_digit = np.zeros(len(probabilities), bool)
    height, width = segmented.page.gray.shape
    fields = [found for found in segmented.fields if not _printed_label(found, not_digit)]
    pieces = cut_in_two(
        [f.field.box for f in fields],
        [f.field.kind for f in fields],
        [bool(f.slots) for f in fields],
    )
    fields = [
        replace(found, doubts=[*found.doubts, doubt]) if doubt else found
        for found, doubt in zip(fields, pieces, strict=True)
    ]
    return [
        _decide(number, found, segmented, probabilities, not_digit, review_below, width, height)
        for number, found in enumerate(fields, start=1)
    ]


def _printed_label(found: SegmentedField, not_digit: np.ndarray) -> bool:
    """A table's label cell holding print, a cell holding words (a column header, a name), or
    ink outside the boxes that holds no digit or whose marks are a quarter or more no digits
    (a form's title): no number field, so no row. Print comes apart into
    many marks, a good share of them letters (handwritten digits: 0.1-0.2 % called marks,
    model card); an empty one is no field either, unless it holds ink that made no marks."""
    rows = [row for slot in found.slots for row in slot.options[0].rows]
    if found.field.kind == "unboxed":  # a title Tesseract was unsure of, text, or no digit
        if any(d.detail == READ_AT_ITS_OWN_THRESHOLD for d in found.doubts):
            # Lighter than the print that set the page's threshold, so no title; pencil
            # broken into pieces has marks called letters (fresh zoo page 9058-05).
            return not rows
        return not rows or float(np.mean(not_digit[rows])) >= LABEL_LETTER_SHARE
    if found.field.kind == "cell":  # a header or a name, only where it is plainly words
        return len(rows) >= WORD_MARKS and float(np.mean(not_digit[rows])) >= WORD_LETTER_SHARE
    if found.field.kind != "label":
        return False
    if not rows:
        return not any(d.reason in INK_REASONS for d in found.doubts)
    return float(np.mean(not_digit[rows])) >= LABEL_LETTER_SHARE


def _decide(
    number: int,
    found: SegmentedField,
    segmented: SegmentedPage,
    probabilities: np.ndarray,
    not_digit: np.ndarray,
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
    marks = list(rows)  # every mark, for a person's correction to label (digitize.review)
    rows, marks_doubt = _without_marks(rows, not_digit)
    if marks_doubt is not None:
        doubts.append(marks_doubt)
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
    reasons = [d.reason for d in doubts]
    if found.checkbox is not None:  # a mark, not digits: sure unless the mark was in doubt
        value = found.checkbox.value
        confidences = []
        confidence = 0.5 if doubts else raw_confidence([], value, reasons)
    else:
        # Never an empty reading of a box with ink "sure" at 1.0 (raw_confidence).
        confidence = raw_confidence(confidences, value, reasons)
        calibration = shipped_calibration()
        if calibration is not None:
            confidence = calibration.probability(confidences, value, reasons)
    return FieldReading(
        field=f"field_{number}",
        kind=found.field.kind,
        value=value,
        confidence=confidence,
        digit_confidences=confidences,
        doubts=doubts,
        box=_fractions_of_input(found.field.box, segmented.page.rotation, width, height),
        outer=found.field.box,
        digit_images=segmented.images[marks],
        digit_probabilities=digits if found.checkbox is None else np.zeros((0, 10)),
        cells=max(1, len(found.field.cells)),
    )


def _without_marks(rows: list[int], not_digit: np.ndarray) -> tuple[list[int], Doubt | None]:
    """The rows that are digits, and a doubt naming the marks that are not (letters, an X
    filler, a tick): they are left out of the value, not read as their nearest digits."""
    marks = [k for k, row in enumerate(rows, start=1) if not_digit[row]]
    if not marks:
        return rows, None
    digits = [row for row in rows if not not_digit[row]]
    which = ", ".join(str(k) for k in marks)
    return digits, Doubt(
        ReviewReason.NOT_DIGITS,
        f"mark{'s' if len(marks) > 1 else ''} {which} of {len(rows)} "
        f"{'are' if len(marks) > 1 else 'is'} no digit (a letter, an X, a tick): left out",
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
