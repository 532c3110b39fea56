"""Segmentation: a page image cut into fields and normalized digit candidates, no classifier.

    page image -> CleanPage -> fields -> digit slots and their options -> (n, 28, 28) images

Every option of every slot knows which rows of `SegmentedPage.images` hold its digits, so the
decision (`digitize.decision`) never has to walk the nesting in the same order again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from digitize.checkbox import CheckboxMark, read_checkbox
from digitize.checkbox_frames import find_checkbox_frames
from digitize.cleanup import CleanPage, clean_page
from digitize.comb_ticks import find_tick_combs
from digitize.digits import DigitCandidate, FieldDigits, find_digits
from digitize.field_ink import Mark, contrast, marks, rethresholded
from digitize.fields import Field, find_fields, reading_order
from digitize.geometry import Box
from digitize.mixed_ink import mixed_ink_doubt
from digitize.normalize import normalize_digit
from digitize.open_boxes import find_open_boxes
from digitize.printed_marks import printed_text, sign_spans
from digitize.records import Doubt, ReviewReason
from digitize.ruling import find_ruling
from digitize.segmentation_params import SegmentationParams
from digitize.specks import speck_doubt
from digitize.table_columns import inherit_column_dividers
from digitize.unboxed_ink import find_unboxed_ink


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


# The doubt of a field whose digits were read at its own threshold, not the page's.
READ_AT_ITS_OWN_THRESHOLD = "ink too faint for the page's threshold, read by the box's own"


def segment_page(
    image: np.ndarray, dpi: float | None = None, params: SegmentationParams | None = None
) -> SegmentedPage:
    """Fields and digit candidates of a page image; `dpi` when the file says (else guessed);
    `params` the thresholds (None: the defaults)."""
    params = params or SegmentationParams()
    page = clean_page(image, dpi, params.cleanup)
    ruling = find_ruling(page.ink, page.dpi, params.fields, page.print_ink, page.gray)
    fields = find_fields(ruling, page.dpi, params.fields, params.combs)
    fields = find_open_boxes(fields, ruling, page.print_ink, page.dpi, params.fields)
    fields = find_checkbox_frames(fields, page, params.fields)
    fields = find_tick_combs(fields, page.print_ink, page.dpi, params.combs)
    fields = inherit_column_dividers(fields, page.gray, page.dpi, params.combs, params.ink)
    fields = reading_order(
        fields + find_unboxed_ink(page, fields, ruling, params.unboxed, params.fields),
        params.fields,
    )
    first = [
        _first_reading(page, target, params) if target.kind != "checkbox" else None
        for target in fields
    ]
    # The marks each field's digits left over, once: the page's handwriting is measured
    # without some fields because of them, and every field reads them again.
    left = [
        _left_over(page, target, found, params) if found is not None else []
        for target, found in zip(fields, first, strict=True)
    ]
    handwriting = handwriting_contrast(page, fields, first, left, params)
    candidates: list[DigitCandidate] = []
    segmented = []
    for target, found_first, left_first in zip(fields, first, left, strict=True):
        if found_first is None:
            mark = read_checkbox(page, target, params.checkbox, params.digits, params.ink)
            doubts = [mark.doubt] if mark.doubt else []
            segmented.append(SegmentedField(field=target, slots=[], doubts=doubts, checkbox=mark))
            continue
        found, ink_doubts = read_all_ink(page, target, params, found_first, left_first, handwriting)
        if target.kind == "box":  # a label or word cell's print is `decision`'s to drop
            found = without_print_alone(page, found)
        slots = []
        for slot in found.slots:
            options = []
            for option in slot.options:
                start = len(candidates)
                candidates.extend(option)
                options.append(DigitOption(candidates=option, rows=range(start, len(candidates))))
            slots.append(SegmentedSlot(options))
        doubts = [*found.doubts, *ink_doubts]
        specks = speck_doubt(found)
        if specks is not None:
            doubts.append(specks)
        mixed = mixed_ink_doubt(page.gray, found, page.dpi)
        if mixed is not None:
            doubts.append(mixed)
        if target.open:
            doubts.append(Doubt(ReviewReason.OPEN_BOX, "the box's border does not close"))
        if target.kind == "unboxed":
            doubts.append(Doubt(ReviewReason.NO_BOX, "handwriting outside every box found"))
        segmented.append(SegmentedField(field=target, slots=slots, doubts=doubts))
    images = np.zeros((len(candidates), 28, 28), np.uint8)
    for row, candidate in enumerate(candidates):
        images[row] = normalize_digit(page.gray, candidate, params.normalize)
    return SegmentedPage(page=page, fields=segmented, images=images)


def handwriting_contrast(
    page: CleanPage,
    fields: list[Field],
    found: list[FieldDigits | None],
    left: list[list[Mark]],
    params: SegmentationParams,
) -> float | None:
    """How dark the page's handwriting is (grey levels below the paper, the median over the
    fields read at the page's threshold), or None when too few fields were read to say.
    A field where what was read looks like a printed prefix or unit and other marks were left
    over does not count: with pencil far lighter than the print, such fields made the print
    the page's "handwriting", and the pencil, read by the box's own threshold, too faint beside
    it (zoo dev 109: no field of a page read)."""
    measured = [
        c
        for target, digits, left_over in zip(fields, found, left, strict=True)
        if digits is not None
        and target.kind != "unboxed"  # maybe print: a title's form number
        and not (digits.maybe_print and left_over)
        and (c := contrast(page, target, digits.candidates(), params.digits)) is not None
    ]
    if len(measured) < params.ink.min_reference_fields:
        return None
    return float(np.median(measured))


def read_all_ink(
    page: CleanPage,
    target: Field,
    params: SegmentationParams,
    found: FieldDigits,
    left: list[Mark],
    handwriting: float | None,
) -> tuple[FieldDigits, list[Doubt]]:
    """The field's digits, read so that no mark in its box is dropped without a word.

    `found`: its digits at the page's threshold; `left`: the marks they left over;
    `handwriting`: how dark the page's handwriting is (`handwriting_contrast`), None when not
    known.

    Marks the digits did not take up are, in turn: read again with the box's own threshold
    (faint pencil that the page's print-dominated threshold missed; flagged `faint_ink`),
    unless what that reads is far fainter than the page's handwriting (a light printed
    background), and failing that, a doubt (`ink_left_over`, or `faint_ink` when they are too
    faint to read).
    """
    if not left:
        return found, []
    doubts: list[Doubt] = []
    local = rethresholded(page, target, params.ink, params.digits, params.cleanup.faint_margin)
    if local is not None:
        again = find_digits(local, target, params.digits, found.print_boxes)
        if target.kind == "box":
            again = with_print_confirmed(page, again)
        left_again = _left_over(page, target, again, params)
        if (
            len(again.slots) >= len(found.slots)
            and _area(left_again) < _area(left)
            and _dark_enough(page, target, again, handwriting, params)
        ):
            found, left = again, left_again
            doubts.append(Doubt(ReviewReason.FAINT_INK, READ_AT_ITS_OWN_THRESHOLD))
    if left:
        faint = all(m.contrast < params.ink.faint_contrast for m in left)
        reason = ReviewReason.FAINT_INK if faint else ReviewReason.INK_LEFT_OVER
        what = "faint marks" if faint else "marks"
        doubts.append(Doubt(reason, f"{len(left)} {what} in the box not read as digits"))
    return found, doubts


def _first_reading(page: CleanPage, target: Field, params: SegmentationParams) -> FieldDigits:
    """The field's digits at the page's threshold; a plain box's print confirmed (a table
    cell's print is `decision`'s to judge, and a comb has no prefix)."""
    found = find_digits(page, target, params.digits)
    return with_print_confirmed(page, found) if target.kind == "box" else found


def with_print_confirmed(page: CleanPage, found: FieldDigits) -> FieldDigits:
    """`found` with the print Tesseract confirms (`sign_spans`: words with a sign or letter
    it is sure of) among what geometry took for print: its prefixes and units, and small
    marks alone at a box's end. Only confirmed
    print stays out of a second reading of the box: at the page's threshold a pencil
    number's darker first digits looked like print by geometry alone (zoo dev seeds: "125"
    read "25", "0336309841" read "009841" when geometry's guess was kept)."""
    suspects = list(found.affixes)
    candidates = found.candidates()
    if found.maybe_print and candidates:
        suspects.append(Box.union(c.box for c in candidates))
    # Tesseract's words, not the whole suspect (a faint first digit close to "+44" was part
    # of geometry's prefix: zoo dev 117-04), clamped to the suspect (the crop Tesseract
    # reads is padded into the handwriting).
    confirmed = [
        Box(max(x0, box.x0), box.y0, min(x1, box.x1), box.y1)
        for box in suspects
        for x0, x1 in sign_spans(page.gray, box)
        if min(x1, box.x1) > max(x0, box.x0)
    ]
    if not confirmed:
        return found
    return replace(found, print_boxes=[*found.print_boxes, *confirmed])


def without_print_alone(page: CleanPage, found: FieldDigits) -> FieldDigits:
    """A box holding only small marks at one end (`FieldDigits.maybe_print`) that Tesseract
    reads as print (`printed_text`) holds no digits: empty, and still flagged."""
    candidates = found.candidates()
    if not found.maybe_print or not candidates:
        return found
    text = printed_text(page.gray, Box.union(c.box for c in candidates))
    if text is None:
        return found
    doubts = [d for d in found.doubts if d.reason is not ReviewReason.NOT_DIGITS]
    doubt = Doubt(ReviewReason.NOT_DIGITS, f"printed {text!r} at the box's end, not read")
    return FieldDigits(slots=[], doubts=[*doubts, doubt], maybe_print=True)


def _share_in(box: Box, boxes: list[Box]) -> float:
    """How much of `box`'s area lies in one of `boxes` (the most of any one)."""
    return max((box.shared_area(b) / max(1, box.area) for b in boxes), default=0.0)


def _left_over(
    page: CleanPage, target: Field, found: FieldDigits, params: SegmentationParams
) -> list[Mark]:
    candidates = found.candidates()
    return [
        m
        for m in marks(page, target, candidates, params.ink, params.digits)
        # Print found beside the value is no ink left unread (it has its own doubt); a mark
        # of print and pencil joined still is.
        if m.left_over and _share_in(m.box, found.print_boxes) < 0.5
    ]


def _dark_enough(
    page: CleanPage,
    target: Field,
    found: FieldDigits,
    handwriting: float | None,
    params: SegmentationParams,
) -> bool:
    """Is ink read by a box's own threshold dark enough, beside the page's handwriting, to be
    handwriting too?"""
    if handwriting is None:
        return True  # nothing to compare with: every field faint, or too few read
    found_contrast = contrast(page, target, found.candidates(), params.digits)
    return found_contrast is None or found_contrast >= params.ink.of_handwriting * handwriting


def _area(left: list[Mark]) -> int:
    return sum(m.area for m in left)
