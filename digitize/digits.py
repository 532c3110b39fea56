"""Finding the digits inside one field: connected components, merged, split, specks dropped."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from digitize.fields import Field
from digitize.geometry import Box

BORDER_MARGIN_IN = 0.01  # ink this close to the border is the border's own raggedness
MIN_DIGIT_HEIGHT = 0.2  # of the field's height: anything shorter alone is a speck
SPECK_AREA = 0.0015  # of the field's height squared
WIDE_DIGIT = 1.2  # a component wider than this times its height holds touching digits
DIGIT_ASPECT = 0.7  # typical width / height of one handwritten digit, to count touching ones


@dataclass
class DigitCandidate:
    box: Box  # page pixels
    mask: np.ndarray  # bool, box-sized: which pixels are this digit's ink


@dataclass
class FieldDigits:
    digits: list[DigitCandidate]
    doubts: list[str] = field(default_factory=list)  # why the segmentation may be wrong


@dataclass
class _Blob:
    box: Box  # field-interior pixels
    labels: list[int]  # connected-component labels it is made of


def find_digits(ink: np.ndarray, target: Field, dpi: float) -> FieldDigits:
    """Digits in `target`, left to right, from the page's ink inside the field's border."""
    interior = target.interior
    margin = max(1, int(round(dpi * BORDER_MARGIN_IN)))
    inside = target.interior_mask(margin)
    region = cv2.bitwise_and(ink[interior.slice()], inside)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
    height = interior.height
    blobs = [
        _Blob(Box(x, y, x + w, y + h), [label])
        for label, (x, y, w, h, area) in enumerate(stats[1:], start=1)
        if area >= SPECK_AREA * height**2
    ]
    doubts: list[str] = []
    if target.kind == "comb":
        blobs = _one_per_cell(blobs, target, interior, doubts)
    else:
        blobs = _merge_fragments(blobs)
        blobs = _split_wide(blobs, labels, height, doubts)
    blobs = [b for b in blobs if max(b.box.height, b.box.width) >= MIN_DIGIT_HEIGHT * height]
    # Ink cut off by the border margin may be part of a digit written over the border.
    rim = cv2.subtract(inside, cv2.erode(inside, np.ones((3, 3), np.uint8),
                                         borderType=cv2.BORDER_CONSTANT, borderValue=0))
    at_border = set(np.unique(labels[rim > 0]).tolist()) - {0}
    if any(at_border.intersection(b.labels) for b in blobs):
        doubts.append("ink runs into the box border")
    digits = [_candidate(b, labels, interior) for b in sorted(blobs, key=lambda b: b.box.x0)]
    return FieldDigits(digits=digits, doubts=doubts)


def _merge_fragments(blobs: list[_Blob]) -> list[_Blob]:
    """Join the pieces of one digit: a 5's detached bar, an open 4, a broken stroke.

    Pieces of one digit sit above each other; neighbouring digits sit side by side. So merge
    when one piece lies mostly within the other's columns, or partly and it is much shorter.
    """
    merged = True
    while merged:
        merged = False
        blobs.sort(key=lambda b: b.box.x0)
        for i in range(len(blobs)):
            for j in range(i + 1, len(blobs)):
                a, b = blobs[i].box, blobs[j].box
                overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
                narrow = min(a.width, b.width)
                short, tall = sorted((a.height, b.height))
                if overlap >= 0.8 * narrow or (overlap >= 0.4 * narrow and short < 0.6 * tall):
                    blobs[i] = _Blob(Box.union([a, b]), blobs[i].labels + blobs[j].labels)
                    del blobs[j]
                    merged = True
                    break
            if merged:
                break
    return blobs


def _split_wide(
    blobs: list[_Blob], labels: np.ndarray, field_height: int, doubts: list[str]
) -> list[_Blob]:
    """Cut a component too wide for one digit at the thinnest columns (touching digits)."""
    result = []
    for blob in blobs:
        box = blob.box
        if box.width <= WIDE_DIGIT * box.height:
            result.append(blob)
            continue
        if box.height < 0.35 * field_height:
            # Too flat to be digits side by side: a dash, an underline, a crossed-out stroke.
            doubts.append("a long flat mark that is no digit")
            result.append(blob)
            continue
        pieces = max(2, int(round(box.width / (DIGIT_ASPECT * box.height))))
        doubts.append(f"a component {box.width / box.height:.1f}x as wide as tall was cut into {pieces} digits")
        ink = np.isin(labels[box.slice()], blob.labels)
        profile = ink.sum(axis=0)
        step = box.width / pieces
        cuts = [0]
        for k in range(1, pieces):
            lo, hi = int(k * step - step / 3), max(int(k * step + step / 3), int(k * step - step / 3) + 1)
            cuts.append(lo + int(np.argmin(profile[lo:hi])))
        cuts.append(box.width)
        for left, right in zip(cuts, cuts[1:]):
            rows = np.flatnonzero(ink[:, left:right].any(axis=1))
            if right > left and rows.size:
                piece = Box(box.x0 + left, box.y0 + rows[0], box.x0 + right, box.y0 + rows[-1] + 1)
                result.append(_Blob(piece, blob.labels))
    return result


def _one_per_cell(blobs: list[_Blob], target: Field, interior: Box, doubts: list[str]) -> list[_Blob]:
    """In a comb, everything whose centre falls in a cell is that cell's digit."""
    by_cell: dict[int, list[_Blob]] = {}
    for blob in blobs:
        centre = interior.x0 + blob.box.center_x
        cell = min(range(len(target.cells)), key=lambda c: abs(target.cells[c].box.center_x - centre))
        by_cell.setdefault(cell, []).append(blob)
    result = []
    for cell in sorted(by_cell):
        parts = by_cell[cell]
        if len(parts) > 1 and not _stacked(parts):
            doubts.append(f"cell {cell + 1} holds {len(parts)} separate marks")
        result.append(_Blob(Box.union(p.box for p in parts), [l for p in parts for l in p.labels]))
    return result


def _stacked(parts: list[_Blob]) -> bool:
    return len(_merge_fragments(list(parts))) == 1


def _candidate(blob: _Blob, labels: np.ndarray, interior: Box) -> DigitCandidate:
    mask = np.isin(labels[blob.box.slice()], blob.labels)
    page_box = Box(
        interior.x0 + blob.box.x0, interior.y0 + blob.box.y0,
        interior.x0 + blob.box.x1, interior.y0 + blob.box.y1,
    )
    return DigitCandidate(box=page_box, mask=mask)
