"""Finding the digits inside one field: connected components, merged, split, specks dropped.

Geometry alone cannot always tell a wide 2 from two touching digits, or a 0 drawn in two
strokes from "11". Where it cannot, a `DigitSlot` keeps both readings of the ink and the
classifier picks the likelier one (`reading.py`), all within the page's one batched call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from digitize.cleanup import CleanPage
from digitize.fields import Field
from digitize.geometry import Box

BORDER_MARGIN_IN = 0.01  # ink this close to the border is the border's own raggedness
SPECK_AREA = 0.0015  # of the field's height squared
MIN_DIGIT_HEIGHT = 0.35  # of the field's typical digit height: anything smaller alone is a speck
MIN_DIGIT_OF_BOX = 0.2  # of the box's inner height: nobody writes a digit smaller than this
FRAGMENT_HEIGHT = 0.6  # a piece shorter than this (of the typical height) is part of a digit
WIDE = 1.15  # wider than this times the typical digit height: maybe touching digits
CLOSE_GAP = 0.2  # of the typical digit height: strokes nearer than this may be one digit
THIN = 0.35  # of the typical digit height: a stroke this narrow is a 1 or a piece of a digit
DIGIT_ASPECT = 0.7  # typical width / height of one handwritten digit, to count touching ones
STACKED = 0.5  # of the narrower one's width: neighbours overlapping this much in x are one digit
STRAY_INK = 0.5  # a thin stroke with less ink than this (of its neighbour's) is not a digit...
STRAY_HEIGHT = 0.9  # ...when it is also shorter than this: a stray mark or a pen's double line


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
    doubts: list[str] = field(default_factory=list)  # why the segmentation may be wrong

    def candidates(self) -> list[DigitCandidate]:
        return [c for slot in self.slots for option in slot.options for c in option]


@dataclass
class _Blob:
    box: Box  # field-interior pixels
    labels: list[int]  # connected-component labels it is made of
    ink: int  # pixels


def _joined(a: _Blob, b: _Blob) -> _Blob:
    return _Blob(Box.union([a.box, b.box]), a.labels + b.labels, a.ink + b.ink)


def find_digits(page: CleanPage, target: Field) -> FieldDigits:
    """Digits in `target`, left to right, from the page's ink inside the field's border."""
    interior = target.interior
    margin = max(1, int(round(page.dpi * BORDER_MARGIN_IN)))
    inside = target.interior_mask(margin)
    # Hysteresis: faint pixels belong to a digit where they touch clear ink, so the light end
    # of a pencil stroke stays with its digit while faint dirt on its own stays paper.
    faint = cv2.bitwise_and(page.faint_ink[interior.slice()], inside)
    clear = cv2.bitwise_and(page.ink[interior.slice()], inside)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(faint, connectivity=8)
    inked = set(np.unique(labels[clear > 0]).tolist())
    blobs = [
        _Blob(Box(x, y, x + w, y + h), [label], int(area))
        for label, (x, y, w, h, area) in enumerate(stats[1:], start=1)
        if label in inked and area >= SPECK_AREA * interior.height**2
        and min(w, h) > 1  # a line one pixel thin is print (a doubled divider), not a pen
    ]
    doubts: list[str] = []
    if target.kind == "comb":
        groups = [[[b]] for b in _one_per_cell(blobs, target, interior, doubts)]
    else:
        typical = _typical_height(blobs, interior.height)
        blobs = [b for b in _merge_fragments(blobs, typical)
                 if b.box.height >= MIN_DIGIT_HEIGHT * typical
                 and max(b.box.height, b.box.width) >= MIN_DIGIT_OF_BOX * interior.height]
        groups = _alternatives(blobs, labels, typical, doubts)
    # Ink cut off by the border margin may be part of a digit written over the border.
    rim = cv2.subtract(inside, cv2.erode(inside, np.ones((3, 3), np.uint8),
                                         borderType=cv2.BORDER_CONSTANT, borderValue=0))
    at_border = set(np.unique(labels[rim > 0]).tolist()) - {0}
    if any(at_border.intersection(b.labels) for group in groups for b in group[0]):
        doubts.append("ink runs into the box border")
    slots = [
        DigitSlot([[_candidate(b, labels, interior) for b in option] for option in group])
        for group in groups
    ]
    return FieldDigits(slots=slots, doubts=doubts)


def _typical_height(blobs: list[_Blob], field_height: int) -> float:
    """The height of a whole digit in this field: the tallest components are whole digits."""
    heights = sorted((b.box.height for b in blobs), reverse=True)
    if not heights:
        return 0.6 * field_height
    return float(np.median(heights[: max(1, (len(heights) + 1) // 2)]))


def _merge_fragments(blobs: list[_Blob], typical: float) -> list[_Blob]:
    """Join pieces that cannot be digits on their own to the digit they belong to.

    A piece much shorter than the field's digits (a 5's detached bar, a broken stroke) goes
    with the neighbour it overlaps most in x, or failing that the nearest one.
    """
    blobs = sorted(blobs, key=lambda b: b.box.x0)
    while True:
        fragments = [b for b in blobs if b.box.height < FRAGMENT_HEIGHT * typical]
        partner = None
        for piece in fragments:
            others = [b for b in blobs if b is not piece]
            if not others:
                break
            nearest = max(others, key=lambda b: _x_overlap(piece.box, b.box))
            union = Box.union([piece.box, nearest.box])
            if union.width <= WIDE * typical or _x_overlap(piece.box, nearest.box) > 0:
                partner = (piece, nearest)
                break
        if partner is None:
            return blobs
        piece, nearest = partner
        rest = [b for b in blobs if b is not piece and b is not nearest]
        blobs = sorted(rest + [_joined(piece, nearest)], key=lambda b: b.box.x0)


def _x_overlap(a: Box, b: Box) -> float:
    """Overlap in x, negative for a gap: how far apart side by side."""
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def _alternatives(
    blobs: list[_Blob], labels: np.ndarray, typical: float, doubts: list[str]
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
        thin_pair = following is not None and _thin_and_close(blob.box, following.box, typical)
        if blob.box.width > WIDE * typical:
            groups.append([[blob], _split(blob, labels, typical)])
        elif thin_pair and (_stray(blob, following) or _stray(following, blob)):
            doubts.append("a faint stroke beside a digit, read as part of it")
            groups.append([[_joined(blob, following)]])
            i += 1
        elif following is not None and _maybe_one_digit(blob.box, following.box, typical):
            groups.append([[blob, following], [_joined(blob, following)]])
            i += 1
        elif thin_pair:
            doubts.append("two strokes almost touching: one digit or two?")
            groups.append([[blob]])
        else:
            groups.append([[blob]])
        i += 1
    return groups


def _thin_and_close(a: Box, b: Box, typical: float) -> bool:
    return -_x_overlap(a, b) < CLOSE_GAP * typical and max(a.width, b.width) < THIN * typical


def _maybe_one_digit(a: Box, b: Box, typical: float) -> bool:
    overlap = _x_overlap(a, b)
    return overlap > 0 and (Box.union([a, b]).width <= 1.1 * typical
                            or overlap >= STACKED * min(a.width, b.width))


def _stray(mark: _Blob, digit: _Blob) -> bool:
    return mark.ink < STRAY_INK * digit.ink and mark.box.height < STRAY_HEIGHT * digit.box.height


def _split(blob: _Blob, labels: np.ndarray, typical: float) -> list[_Blob]:
    """Cut a component into touching digits at its thinnest columns."""
    box = blob.box
    pieces = max(2, int(round(box.width / (DIGIT_ASPECT * typical))))
    ink = np.isin(labels[box.slice()], blob.labels)
    profile = ink.sum(axis=0)
    step = box.width / pieces
    cuts = [0]
    for k in range(1, pieces):
        lo = max(cuts[-1] + 1, int(k * step - step / 3))
        hi = max(lo + 1, int(k * step + step / 3))
        cuts.append(lo + int(np.argmin(profile[lo:hi])))
    cuts.append(box.width)
    result = []
    for left, right in zip(cuts, cuts[1:]):
        rows = np.flatnonzero(ink[:, left:right].any(axis=1))
        if right > left and rows.size:
            piece = Box(box.x0 + left, box.y0 + rows[0], box.x0 + right, box.y0 + rows[-1] + 1)
            result.append(_Blob(piece, blob.labels, int(ink[:, left:right].sum())))
    return result


def _one_per_cell(blobs: list[_Blob], target: Field, interior: Box, doubts: list[str]) -> list[_Blob]:
    """In a comb, everything whose centre falls in a cell is that cell's digit."""
    by_cell: dict[int, list[_Blob]] = {}
    for blob in blobs:
        centre = interior.x0 + blob.box.center_x
        cell = min(range(len(target.cells)), key=lambda c: abs(target.cells[c].box.center_x - centre))
        by_cell.setdefault(cell, []).append(blob)
    result = []
    height = max((c.box.height for c in target.cells), default=0)
    for cell in sorted(by_cell):
        parts = by_cell[cell]
        joined = _Blob(Box.union(p.box for p in parts), [l for p in parts for l in p.labels],
                       sum(p.ink for p in parts))
        if max(joined.box.height, joined.box.width) < MIN_DIGIT_OF_BOX * height:
            continue  # a speck of dust in an empty cell
        if len(parts) > 1:  # a broken digit, or a digit and a stray mark: which is which?
            doubts.append(f"cell {cell + 1} holds {len(parts)} separate marks")
        result.append(joined)
    return result


def _candidate(blob: _Blob, labels: np.ndarray, interior: Box) -> DigitCandidate:
    mask = np.isin(labels[blob.box.slice()], blob.labels)
    page_box = Box(
        interior.x0 + blob.box.x0, interior.y0 + blob.box.y0,
        interior.x0 + blob.box.x1, interior.y0 + blob.box.y1,
    )
    return DigitCandidate(box=page_box, mask=mask)
