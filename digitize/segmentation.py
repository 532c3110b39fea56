"""Segmentation: a page image cut into fields and normalized digit candidates, no classifier.

    page image -> CleanPage -> fields -> digit slots and their options -> (n, 28, 28) images

Every option of every slot knows which rows of `SegmentedPage.images` hold its digits, so the
decision (`digitize.decision`) never has to walk the nesting in the same order again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitize.checkbox import CheckboxMark, read_checkbox
from digitize.cleanup import CleanPage, clean_page
from digitize.comb_ticks import find_tick_combs
from digitize.digits import DigitCandidate, FieldDigits, find_digits
from digitize.field_ink import Mark, marks, rethresholded
from digitize.fields import Field, find_fields
from digitize.normalize import normalize_digit
from digitize.records import Doubt, ReviewReason
from digitize.ruling import find_ruling
from digitize.segmentation_params import SegmentationParams


@dataclass(frozen=True)
class DigitOption:
    """One reading of a stretch of ink: these candidates, one digit each."""

    candidates: list[DigitCandidate]
    rows: range  # their rows in SegmentedPage.images, in order


@dataclass(frozen=True)
class SegmentedSlot:
    """One stretch of ink and its alternative readings; the first is geometry's own choice."""

    options: list[DigitOption]


@dataclass(frozen=True)
class SegmentedField:
    field: Field
    slots: list[SegmentedSlot]
    doubts: list[Doubt]  # why the segmentation may be wrong
    checkbox: CheckboxMark | None = None  # a checkbox's mark (it has no digit slots)


@dataclass(frozen=True)
class SegmentedPage:
    page: CleanPage
    fields: list[SegmentedField]  # in reading order
    images: np.ndarray  # (n, 28, 28) uint8: every candidate of every option of every field


def segment_page(
    image: np.ndarray, dpi: float | None = None, params: SegmentationParams | None = None
) -> SegmentedPage:
    """Fields and digit candidates of a page image; `dpi` when the file says (else guessed);
    `params` the thresholds (None: the defaults)."""
    params = params or SegmentationParams()
    page = clean_page(image, dpi, params.cleanup)
    ruling = find_ruling(page.ink, page.dpi, params.fields, page.print_ink)
    fields = find_fields(ruling, page.dpi, params.fields, params.combs)
    fields = find_tick_combs(fields, page.print_ink, page.dpi, params.combs)
    candidates: list[DigitCandidate] = []
    segmented = []
    for target in fields:
        if target.kind == "checkbox":
            mark = read_checkbox(page, target, params.checkbox, params.digits)
            doubts = [mark.doubt] if mark.doubt else []
            segmented.append(SegmentedField(field=target, slots=[], doubts=doubts, checkbox=mark))
            continue
        found, ink_doubts = read_all_ink(page, target, params)
        slots = []
        for slot in found.slots:
            options = []
            for option in slot.options:
                start = len(candidates)
                candidates.extend(option)
                options.append(DigitOption(candidates=option, rows=range(start, len(candidates))))
            slots.append(SegmentedSlot(options))
        doubts = [*found.doubts, *ink_doubts]
        segmented.append(SegmentedField(field=target, slots=slots, doubts=doubts))
    images = np.zeros((len(candidates), 28, 28), np.uint8)
    for row, candidate in enumerate(candidates):
        images[row] = normalize_digit(page.gray, candidate, params.normalize)
    return SegmentedPage(page=page, fields=segmented, images=images)


def read_all_ink(
    page: CleanPage, target: Field, params: SegmentationParams
) -> tuple[FieldDigits, list[Doubt]]:
    """The field's digits, read so that no mark in its box is dropped without a word.

    Marks the digits did not take up are, in turn: read again with the box's own threshold
    (faint pencil that the page's print-dominated threshold missed; flagged `faint_ink`), and
    failing that, a doubt (`ink_left_over`, or `faint_ink` when they are too faint to read).
    """
    found = find_digits(page, target, params.digits)
    left = _left_over(page, target, found, params)
    if not left:
        return found, []
    doubts: list[Doubt] = []
    local = rethresholded(page, target, params.ink, params.digits, params.cleanup.faint_margin)
    if local is not None:
        again = find_digits(local, target, params.digits)
        left_again = _left_over(page, target, again, params)
        if len(again.slots) >= len(found.slots) and _area(left_again) < _area(left):
            found, left = again, left_again
            doubts.append(
                Doubt(
                    ReviewReason.FAINT_INK,
                    "ink too faint for the page's threshold, read by the box's own",
                )
            )
    if left:
        faint = all(m.contrast < params.ink.faint_contrast for m in left)
        reason = ReviewReason.FAINT_INK if faint else ReviewReason.INK_LEFT_OVER
        what = "faint marks" if faint else "marks"
        doubts.append(Doubt(reason, f"{len(left)} {what} in the box not read as digits"))
    return found, doubts


def _left_over(
    page: CleanPage, target: Field, found: FieldDigits, params: SegmentationParams
) -> list[Mark]:
    candidates = found.candidates()
    return [m for m in marks(page, target, candidates, params.ink, params.digits) if m.left_over]


def _area(left: list[Mark]) -> int:
    return sum(m.area for m in left)
