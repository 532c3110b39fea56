"""Finding the digits inside one field: connected components, merged, split, specks dropped.

Geometry alone cannot always tell a wide 2 from two touching digits, or a 0 drawn in two
strokes from "11". Where it cannot, a `DigitSlot` keeps both readings of the ink and the
classifier picks the likelier one (`reading.py`), all within the page's one batched call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import numpy as np

from digitize.cleanup import CleanPage
from digitize.fields import Field
from digitize.geometry import Box
from digitize.records import Doubt, ReviewReason
from digitize.segmentation_params import DigitParams


@dataclass
class DigitCandidate:
    box: Box  # page pixels
    mask: np.ndarray  # bool, box-sized: which pixels are this digit's ink


@dataclass
class DigitSlot:
    """One stretch of ink read as one or more digits; `options` are alternative readings,
    the first being what geometry alone would choose."""

    options: list[list[DigitCandidate]]

    @property
    def ambiguous(self) -> bool:
        return len(self.options) > 1


@dataclass
class FieldDigits:
    slots: list[DigitSlot]
    doubts: list[Doubt] = field(default_factory=list)  # why the segmentation may be wrong
    # All it found is small marks at one end of a wide box: a printed prefix or unit, or a
    # small digit (segmentation.handwriting_contrast tells them apart by the marks left over).
    maybe_print: bool = False
    # Where geometry alone found a printed prefix or unit beside the handwriting (page
    # pixels): left out of the value, but maybe a short first digit.
    affixes: list[Box] = field(default_factory=list)
    # Where print is known to be (page pixels): `print_at`, and what Tesseract confirmed
    # (`segmentation.with_print_confirmed`). Not ink left over; a second reading of the box
    # at a lower threshold keeps it out.
    print_boxes: list[Box] = field(default_factory=list)

    def candidates(self) -> list[DigitCandidate]:
        return [c for slot in self.slots for option in slot.options for c in option]


@dataclass
class _Blob:
    box: Box  # field-interior pixels
    labels: list[int]  # connected-component labels it is made of
    ink: int  # pixels


def _joined(a: _Blob, b: _Blob) -> _Blob:
    return _Blob(Box.union([a.box, b.box]), a.labels + b.labels, a.ink + b.ink)


def find_digits(
    page: CleanPage,
    target: Field,
    params: DigitParams = DigitParams(),
    print_at: Sequence[Box] = (),
) -> FieldDigits:
    """Digits in `target`, left to right, from the page's ink inside the field's border;
    `print_at`: where an earlier reading of the box found print (page pixels), left out."""
    interior = target.interior
    margin = max(1, int(round(page.dpi * params.border_margin_in)))
    inside = target.interior_mask(margin)
    # Print found by an earlier reading is no ink here. Read at a box's own, lower threshold,
    # print is bolder: "+44" beside pencil joined into one mark as close to the number as a
    # digit (zoo dev seeds 101-118: 5 phone numbers read with a leading 4, a sum with a
    # leading 5). Its pixels only, so a digit touching it keeps the rest of its own.
    for box in print_at:
        inside[box.shifted(-interior.x0, -interior.y0).clip(*inside.shape[::-1]).slice()] = 0
    # Hysteresis: faint pixels belong to a digit where they touch clear ink, so the light end
    # of a pencil stroke stays with its digit while faint dirt on its own stays paper.
    faint = cv2.bitwise_and(page.faint_ink[interior.slice()], inside)
    clear = cv2.bitwise_and(page.ink[interior.slice()], inside)
    # Pieces a pixel or two apart are one stroke: pencil and bi-level scans break strokes up,
    # and each piece, read alone, is a 1. Joined for grouping only: each digit keeps its ink.
    joined = cv2.bitwise_and(
        cv2.morphologyEx(faint, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)), inside
    )
    _, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    labels[faint == 0] = 0
    inked = set(np.unique(labels[clear > 0]).tolist())
    blobs = [
        _Blob(Box(x, y, x + w, y + h), [label], int(area))
        for label, (x, y, w, h, area) in enumerate(stats[1:], start=1)
        # A line one pixel thin is print (a doubled divider), not a pen.
        if label in inked
        and area >= params.speck_area * interior.height**2
        and min(w, h) > params.print_line_px
    ]
    doubts: list[Doubt] = []
    if print_at:
        doubts.append(Doubt(ReviewReason.NOT_DIGITS, "small print beside the value, not read"))
    maybe_print = False
    affixes: list[Box] = []
    if target.kind == "comb":
        groups = [[[b]] for b in _one_per_cell(blobs, target, interior, doubts, params)]
    else:
        typical = _typical_height(blobs, interior.height)
        stretches = _stretches(blobs, interior.height)
        if _only_small_marks_at_an_end(stretches, interior, params):
            maybe_print = True
            doubts.append(
                Doubt(ReviewReason.NOT_DIGITS, "only small marks at the box's end: printed?")
            )
        blobs, printed = _without_printed_affixes(blobs, stretches, typical, doubts, params)
        affixes = [box.shifted(interior.x0, interior.y0) for box in printed]
        blobs = [
            b
            for b in _merge_fragments(blobs, typical, params)
            if b.box.height >= params.min_digit_height * typical
            and max(b.box.height, b.box.width) >= params.min_digit_of_box * interior.height
        ]
        groups = _alternatives(blobs, labels, typical, doubts, params)
    # Ink cut off by the border margin may be part of a digit written over the border.
    rim = cv2.subtract(
        inside,
        cv2.erode(inside, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0),
    )
    at_border = set(np.unique(labels[rim > 0]).tolist()) - {0}
    if any(at_border.intersection(b.labels) for group in groups for b in group[0]):
        doubts.append(Doubt(ReviewReason.BORDER_TOUCH, "ink runs into the box border"))
    slots = [
        DigitSlot([[_candidate(b, labels, interior) for b in option] for option in group])
        for group in groups
    ]
    return FieldDigits(
        slots=slots,
        doubts=doubts,
        maybe_print=maybe_print,
        affixes=affixes,
        print_boxes=list(print_at),
    )


def _without_printed_affixes(
    blobs: list[_Blob],
    stretches: list[Box],
    typical: float,
    doubts: list[Doubt],
    params: DigitParams,
) -> tuple[list[_Blob], list[Box]]:
    """The blobs less a printed prefix or unit inside the box (`€`, `+44`, `No.`, `kg`): the
    marks all well short of the handwriting at the box's left or right end, standing apart
    from it (`_set_apart`). Not part of the value, and not silently dropped either: the field
    says so."""
    ordered = sorted(stretches, key=lambda box: box.x0)
    tall = [i for i, box in enumerate(ordered) if box.height >= params.affix_height * typical]
    if not tall:
        return blobs, []
    ends = [box.x1 for box in ordered[: tall[0]]]
    starts = [-box.x0 for box in reversed(ordered[tall[-1] + 1 :])]  # mirrored: right to left
    prefix_end = _affix_end(ends, [box.x0 for box in ordered[1:]], typical, params)
    suffix_start = _affix_end(starts, [-box.x1 for box in reversed(ordered[:-1])], typical, params)
    prefix = [] if prefix_end is None else [b for b in blobs if b.box.x1 <= prefix_end]
    suffix = [] if suffix_start is None else [b for b in blobs if b.box.x0 >= -suffix_start]
    kept = [b for b in blobs if b not in prefix and b not in suffix]
    for affix, where in ((prefix, "left of"), (suffix, "right of")):
        if affix:
            doubts.append(
                Doubt(ReviewReason.NOT_DIGITS, f"small print {where} the value, not read")
            )
    return kept, [Box.union([b.box for b in affix]) for affix in (prefix, suffix) if affix]


def _affix_end(
    ends: list[int], next_starts: list[int], typical: float, params: DigitParams
) -> int | None:
    """Where print at a box's end stops: after the most of its short marks (`ends`, where each
    stops, in order from the box's end; `next_starts`, where the mark after each starts) that
    stand apart from what follows. None: no print. Measured from the right end, both are
    negated."""
    for count in range(len(ends), 0, -1):
        gaps = [start - end for end, start in zip(ends[:count], next_starts[:count], strict=True)]
        if _set_apart(gaps[-1], gaps[:-1], typical, params):
            return max(ends[:count])
    return None


def _set_apart(gap: float, inner: list[int], typical: float, params: DigitParams) -> bool:
    """Do short marks, `inner` apart from each other (the gaps between them), stand apart from
    the handwriting `gap` away: far (`affix_gap`), or, print of several marks side by side,
    further than its marks stand from each other. Print is set tight, then a space: "+44"
    stood from 0.29 of the handwriting's height away from it, its marks 0.06-0.13 apart, and
    a gap of 0.4 alone kept a 4 of it as the value's first digit (zoo dev seeds: 14 of 103
    three-mark prefixes, 0.29-0.39 away). The pieces of a broken digit are as close, but
    overlap: printed glyphs never do."""
    if gap >= params.affix_gap * typical:
        return True
    return (
        bool(inner)
        and min(inner) > 0
        and gap >= params.affix_tight_gap * typical
        and gap >= params.affix_gap_ratio * max(inner)
    )


def _only_small_marks_at_an_end(stretches: list[Box], interior: Box, params: DigitParams) -> bool:
    """Does a wide box hold nothing but small marks at one end: a printed prefix or unit
    (`$`, `kg`, `+44`) in a box left empty? Read alone, `$` is a sure 5 (zoo: unflagged)."""
    if not stretches or interior.width < params.affix_box_aspect * interior.height:
        return False
    zone = params.affix_zone * interior.width
    small = all(box.height < params.affix_of_box * interior.height for box in stretches)
    left = all(box.x1 <= zone for box in stretches)
    right = all(box.x0 >= interior.width - zone for box in stretches)
    return small and (left or right)


def _stretches(blobs: list[_Blob], field_height: int) -> list[Box]:
    """The field's ink as stretches side by side: pieces one above the other are one stretch.
    Pencil and bi-level scans break a digit into pieces; measured piece by piece, a broken
    digit at a box's end is as short as a printed unit, and was left out as one (zoo dev:
    "53166" read "531", "73" read "7")."""
    stretches: list[Box] = []
    for blob in sorted(blobs, key=lambda b: b.box.x0):
        if (
            stretches
            # Overlapping by half the narrower one's width: a broken digit's pieces lie one
            # above the other, while neighbours written close overlap by a sliver.
            and _x_overlap(stretches[-1], blob.box) > 0.5 * min(stretches[-1].width, blob.box.width)
            # No digit is wider than its box is tall: a long smear is not a stretch of digits.
            and Box.union([stretches[-1], blob.box]).width <= field_height
        ):
            stretches[-1] = Box.union([stretches[-1], blob.box])
        else:
            stretches.append(blob.box)
    return stretches


def _typical_height(blobs: list[_Blob], field_height: int) -> float:
    """The height of a whole digit in this field: the tallest components are whole digits.
    (Measured on stretches instead, a printed caption and a signature under it became one
    stretch, and the caption's letters fragments of it: the real customer form's signature
    boxes lost their not_digits flag.)"""
    heights = sorted((b.box.height for b in blobs), reverse=True)
    if not heights:  # no ink: nothing is measured against it, so no parameter
        return 0.6 * field_height
    return float(np.median(heights[: max(1, (len(heights) + 1) // 2)]))


def _merge_fragments(blobs: list[_Blob], typical: float, params: DigitParams) -> list[_Blob]:
    """Join pieces that cannot be digits on their own to the digit they belong to.

    A piece much shorter than the field's digits (a 5's detached bar, a broken stroke) goes
    with the neighbour it overlaps most in x, or failing that the nearest one.
    """
    blobs = sorted(blobs, key=lambda b: b.box.x0)
    while True:
        fragments = [b for b in blobs if b.box.height < params.fragment_height * typical]
        partner = None
        for piece in fragments:
            others = [b for b in blobs if b is not piece]
            if not others:
                break
            nearest = max(others, key=lambda b: _x_overlap(piece.box, b.box))
            union = Box.union([piece.box, nearest.box])
            if union.width <= params.wide * typical or _x_overlap(piece.box, nearest.box) > 0:
                partner = (piece, nearest)
                break
        if partner is None:
            return blobs
        piece, nearest = partner
        rest = [b for b in blobs if b is not piece and b is not nearest]
        blobs = sorted([*rest, _joined(piece, nearest)], key=lambda b: b.box.x0)


def _x_overlap(a: Box, b: Box) -> float:
    """Overlap in x, negative for a gap: how far apart side by side."""
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def _alternatives(
    blobs: list[_Blob],
    labels: np.ndarray,
    typical: float,
    doubts: list[Doubt],
    params: DigitParams,
) -> list[list[list[_Blob]]]:
    """For each stretch of ink, its readings: as is, and where geometry is unsure, the other.

    - a component wider than a digit: whole, or cut into touching digits;
    - two neighbours overlapping in x, narrow together or one above the other: apart, or one
      digit in two strokes.
    Two thin strokes almost touching (a 1 drawn twice? "11" written tight?) are left to a
    person, as the classifier is sure of each stroke either way; they are kept apart unless
    one is a stray: much less ink and shorter than the other, which a second 1 by the same
    hand would not be.
    """
    groups: list[list[list[_Blob]]] = []
    i = 0
    while i < len(blobs):
        blob = blobs[i]
        following = blobs[i + 1] if i + 1 < len(blobs) else None
        thin_pair = following is not None and _thin_and_close(
            blob.box, following.box, typical, params
        )
        if blob.box.width > params.wide * typical:
            groups.append([[blob], _split(blob, labels, typical, params)])
        elif (
            thin_pair
            and following is not None
            and (_stray(blob, following, params) or _stray(following, blob, params))
        ):
            doubts.append(
                Doubt(
                    ReviewReason.SEGMENTATION, "a faint stroke beside a digit, read as part of it"
                )
            )
            groups.append([[_joined(blob, following)]])
            i += 1
        elif following is not None and _maybe_one_digit(blob.box, following.box, typical, params):
            groups.append([[blob, following], [_joined(blob, following)]])
            i += 1
        elif thin_pair:
            doubts.append(
                Doubt(ReviewReason.SEGMENTATION, "two strokes almost touching: one digit or two?")
            )
            groups.append([[blob]])
        else:
            groups.append([[blob]])
        i += 1
    return groups


def _thin_and_close(a: Box, b: Box, typical: float, params: DigitParams) -> bool:
    return (
        -_x_overlap(a, b) < params.close_gap * typical
        and max(a.width, b.width) < params.thin * typical
    )


def _maybe_one_digit(a: Box, b: Box, typical: float, params: DigitParams) -> bool:
    overlap = _x_overlap(a, b)
    return overlap > 0 and (
        Box.union([a, b]).width <= params.one_digit_width * typical
        or overlap >= params.stacked * min(a.width, b.width)
    )


def _stray(mark: _Blob, digit: _Blob, params: DigitParams) -> bool:
    return (
        mark.ink < params.stray_ink * digit.ink
        and mark.box.height < params.stray_height * digit.box.height
    )


def _split(blob: _Blob, labels: np.ndarray, typical: float, params: DigitParams) -> list[_Blob]:
    """Cut a component into touching digits at its thinnest columns."""
    box = blob.box
    pieces = max(2, int(round(box.width / (params.digit_aspect * typical))))
    ink = np.isin(labels[box.slice()], blob.labels)
    profile = ink.sum(axis=0)
    step = box.width / pieces
    cuts = [0]
    for k in range(1, pieces):
        lo = max(cuts[-1] + 1, int(k * step - step / params.cut_window))
        hi = max(lo + 1, int(k * step + step / params.cut_window))
        cuts.append(lo + int(np.argmin(profile[lo:hi])))
    cuts.append(box.width)
    result = []
    for left, right in pairwise(cuts):
        rows = np.flatnonzero(ink[:, left:right].any(axis=1))
        if right > left and rows.size:
            piece = Box(box.x0 + left, box.y0 + rows[0], box.x0 + right, box.y0 + rows[-1] + 1)
            result.append(_Blob(piece, blob.labels, int(ink[:, left:right].sum())))
    return result


def _one_per_cell(
    blobs: list[_Blob], target: Field, interior: Box, doubts: list[Doubt], params: DigitParams
) -> list[_Blob]:
    """In a comb, everything whose centre falls in a cell is that cell's digit."""
    by_cell: dict[int, list[_Blob]] = {}
    for blob in blobs:
        centre = interior.x0 + blob.box.center_x
        cell = min(
            range(len(target.cells)), key=lambda c: abs(target.cells[c].box.center_x - centre)
        )
        by_cell.setdefault(cell, []).append(blob)
    joined = {
        cell: _Blob(
            Box.union(p.box for p in parts),
            [label for p in parts for label in p.labels],
            sum(p.ink for p in parts),
        )
        for cell, parts in by_cell.items()
    }
    height = max((c.box.height for c in target.cells), default=0)
    digit_sized = [
        b.box.height
        for b in joined.values()
        if max(b.box.height, b.box.width) >= params.min_digit_of_box * height
    ]
    # Beside the comb's other digits, a short mark is still a digit (a small 1 in a tall cell):
    # only marks small by both measures are dust.
    typical = float(np.median(digit_sized)) if digit_sized else float("inf")
    result = []
    kept: list[int] = []
    for cell in sorted(joined):
        blob = joined[cell]
        size = max(blob.box.height, blob.box.width)
        if size < params.min_digit_of_box * height and size < params.small_digit * typical:
            continue  # a speck of dust in an empty cell
        if len(by_cell[cell]) > 1:  # a broken digit, or a digit and a stray mark: which is which?
            doubts.append(
                Doubt(
                    ReviewReason.SEGMENTATION,
                    f"cell {cell + 1} holds {len(by_cell[cell])} separate marks",
                )
            )
        result.append(blob)
        kept.append(cell)
    for cell in _blank_between(kept):
        doubts.append(
            Doubt(ReviewReason.SEGMENTATION, f"cell {cell + 1} is blank between written cells")
        )
    return result


def _blank_between(filled: list[int]) -> list[int]:
    """The empty cells between a comb's first and last written ones. Writers fill a comb's
    cells in one run, so a blank inside it is a digit the scan lost or one written outside
    its cell: a bi-level scan left a pencil 5 as a few dots, and 8556 was read "856" (zoo dev
    seed 130, pencil on bi-level scans; unflagged once broken strokes were joined, a trial
    since dropped, as nothing else doubted the field)."""
    return [c for c in range(filled[0], filled[-1]) if c not in filled] if filled else []


def _candidate(blob: _Blob, labels: np.ndarray, interior: Box) -> DigitCandidate:
    mask = np.isin(labels[blob.box.slice()], blob.labels)
    page_box = Box(
        interior.x0 + blob.box.x0,
        interior.y0 + blob.box.y0,
        interior.x0 + blob.box.x1,
        interior.y0 + blob.box.y1,
    )
    return DigitCandidate(box=page_box, mask=mask)
