"""The records that flow through digitize: a field as read, a person's decision on it, and the
model card. Everything downstream of the classifier (output, resume, review, scoring, export)
works on these types; `digitize.output` is the only place that turns them into CSV cells and
back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum


class ReviewReason(StrEnum):
    """Why a field is flagged for a person. The codes are part of the CSV contract
    (`review_reasons`), documented in the README; new codes may be added, never renamed."""

    LOW_CONFIDENCE = "low_confidence"  # a digit's confidence is below the scan's review_below
    SEGMENTATION = "segmentation"  # the ink may be cut into digits wrongly (one digit or two)
    BORDER_TOUCH = "border_touch"  # ink runs into the box border: part of a digit may be cut off
    INK_LEFT_OVER = "ink_left_over"  # ink inside the box that did not become digits
    FAINT_INK = "faint_ink"  # ink too faint to read with confidence
    NOT_DIGITS = "not_digits"  # marks that are not digits (letters, X fillers, print)
    VALIDATION = "validation"  # the value breaks a rule of its field (check digit, range)
    OPEN_BOX = "open_box"  # the box's border does not close: its sides were inferred
    NOT_FOUND = "not_found"  # a template's field whose box was not found on the page
    TEMPLATE_MISMATCH = "template_mismatch"  # the page is not the template's form
    NO_BOX = "no_box"  # handwriting outside every box found: a box missed, or none printed


@dataclass(frozen=True)
class Doubt:
    """One reason to doubt a field, with what exactly was seen (for the review page)."""

    reason: ReviewReason
    detail: str = ""


class ReviewStatus(StrEnum):
    ACCEPTED = "accepted"  # the value read was right
    CORRECTED = "corrected"  # the person typed the right value
    ILLEGIBLE = "illegible"  # nobody can read it


@dataclass(frozen=True)
class ReviewDecision:
    status: ReviewStatus
    value: str  # the value the person confirmed; empty when illegible

    @property
    def labels_digits(self) -> bool:
        """Whether the decision says what the field's digits are (so they can teach the model)."""
        return self.status in (ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED) and bool(self.value)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the page, origin top-left


@dataclass(frozen=True)
class FieldResult:
    """One field of one page, as `digitize scan` read it: one row of the entries CSV."""

    file: str  # as given on the command line
    page: int  # 1-based
    field: str  # field_1 ... in reading order
    value: str  # the digits read; empty for an empty box
    confidence: float  # probability that the whole value is right
    digit_confidences: tuple[float, ...]
    box: Box
    review_below: float  # the threshold this scan flagged digits below
    reasons: tuple[ReviewReason, ...] = ()  # empty: not flagged
    crop: str = ""  # path of the field's saved image, if any
    # "box", "comb", "cell" (a table cell), "label" (a table label cell with digits) or
    # "checkbox" (value "1" marked, "0" empty).
    kind: str = "box"
    # The printed text that names the field (its row and column header for a table cell), or
    # its name in the template the scan was given; empty when none was read.
    label: str = ""
    # Readable sentences for the reviewer: the rule a value broke, a repair made by a rule.
    review_notes: str = ""

    @property
    def needs_review(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class Entry:
    """A row of an entries CSV: the field as read, a person's decision when there is one, and
    any columns other tools added (kept as they are, in their place)."""

    result: FieldResult
    decision: ReviewDecision | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelCard:
    """`digits.json` beside a model: what it is and how well it reads MNIST's test split.
    Only the fields digitize itself reads are typed; the rest is kept in `details`."""

    test_accuracy: float | None = None
    hyperparameters: dict = field(default_factory=dict)
    created: str = ""
    details: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> ModelCard:
        known = {f.name for f in fields(cls)} - {"details"}
        accuracy = data.get("test_accuracy")
        return cls(
            test_accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
            hyperparameters=dict(data.get("hyperparameters") or {}),
            created=str(data.get("created", "")),
            details={k: v for k, v in data.items() if k not in known},
        )
