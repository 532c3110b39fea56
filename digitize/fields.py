"""Finding number fields: printed boxes, comb fields and table cells, by contour detection.

A box is a *hole* in the page's ruling: the long horizontal and vertical strokes left after
morphological opening. Handwriting inside a box is not part of the ruling (strokes are short or
do not connect to it), and printed labels outside boxes enclose no hole, so neither becomes a
field. A row of narrow cells sharing their borders is a comb: one field, one digit per cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from digitize.geometry import Box

# Sizes in inches, converted with the page's estimated DPI.
MIN_CELL_SIDE_IN = 0.15  # smaller holes are letters' counters, checkbox ticks, noise
MAX_FIELD_HEIGHT_IN = 1.2  # number fields are one line; taller frames hold text or photos
MIN_RULING_IN = 0.12  # strokes at least this long and straight count as ruling
RULING_GAP_IN = 0.12  # gaps this short in a printed rule are the scan's, not the form's
COMB_CELL_MAX_ASPECT = 1.5  # a one-digit cell is at most this much wider than tall


@dataclass(frozen=True)
class Cell:
    box: Box  # bounding box of the hole inside the border
    outline: np.ndarray  # the hole's convex hull, page pixels (cv2 contour)


@dataclass
class Field:
    box: Box  # outer border, page pixels (deskewed page)
    cells: list[Cell] = field(default_factory=list)  # several for a comb
    kind: str = "box"  # "box", "comb" or "cell" (a table cell)

    @property
    def interior(self) -> Box:
        return Box.union(c.box for c in self.cells)

    def interior_mask(self, margin: int) -> np.ndarray:
        """255 inside the field's holes, `margin` pixels clear of every border, in `interior`."""
        interior = self.interior
        mask = np.zeros((interior.height, interior.width), np.uint8)
        outlines = [c.outline - np.array([interior.x0, interior.y0]) for c in self.cells]
        cv2.drawContours(mask, outlines, -1, 255, cv2.FILLED)
        # Then carve every outline out again: the inner edge of a scanned border is ragged,
        # and a comb's dividers lie between two filled cells.
        cv2.drawContours(mask, outlines, -1, 0, thickness=2 * margin + 1)
        return mask


def find_ruling(ink: np.ndarray, dpi: float) -> np.ndarray:
    """Long horizontal and vertical strokes (box borders, table rules), slightly thickened."""
    length = max(8, int(dpi * MIN_RULING_IN))
    # A printed line one or two pixels thin wanders by a pixel in the scan: look for straight
    # strokes in the ink thickened across them, then keep only the ink itself.
    across_rows = cv2.dilate(ink, np.ones((3, 1), np.uint8))
    across_columns = cv2.dilate(ink, np.ones((1, 3), np.uint8))
    horizontal = cv2.morphologyEx(across_rows, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    vertical = cv2.morphologyEx(across_columns, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8))
    ruling = cv2.bitwise_and(cv2.bitwise_or(horizontal, vertical), ink)
    # Closing bridges the small gaps of a worn or noisy border, so its hole is closed.
    return cv2.morphologyEx(ruling, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))


def find_fields(ruling: np.ndarray, dpi: float) -> list[Field]:
    """Fields on a deskewed page, in reading order, from its ruling (`find_ruling`)."""
    cells = _holes(ruling, dpi)
    return reading_order(_group_cells(cells, ruling, dpi))


def _holes(ruling: np.ndarray, dpi: float) -> list[Cell]:
    """Rectangular holes in the ruling, as the interior box of each."""
    contours, hierarchy = cv2.findContours(ruling, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    min_side = dpi * MIN_CELL_SIDE_IN
    max_height = dpi * MAX_FIELD_HEIGHT_IN
    holes = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0]):
        if parent < 0:  # an outer boundary of ruling, not a hole in it
            continue
        x, y, w, h = cv2.boundingRect(contour)
        if w < min_side or h < min_side or h > max_height:
            continue
        # A box's hole fills its bounding rectangle; the gap between two letters does not.
        if cv2.contourArea(contour) < 0.85 * w * h:
            continue
        # The hull: ink lying on the border from inside (the base of a 2 on the bottom rule)
        # joins the ruling and dents the hole; the digit's cell is still the whole box.
        holes.append(Cell(Box(x, y, x + w, y + h), cv2.convexHull(contour)))
    # A thick 0 or 8 written in a box can itself enclose a hole: it is the box's content.
    return [h for h in holes if not any(_inside(h.box, other.box) for other in holes if other is not h)]


def _inside(inner: Box, outer: Box) -> bool:
    return (outer.x0 <= inner.x0 and outer.y0 <= inner.y0 and inner.x1 <= outer.x1
            and inner.y1 <= outer.y1 and inner != outer)


def _group_cells(cells: list[Cell], ruling: np.ndarray, dpi: float) -> list[Field]:
    """Runs of narrow cells sharing borders become combs; other cells stand alone."""
    fields = []
    for run in _bridge_missing_cells(_runs(cells, dpi), ruling, dpi):
        pitch = float(np.median([c.box.width for c in run]))
        height = float(np.median([c.box.height for c in run]))
        if len(run) > 1 and pitch <= COMB_CELL_MAX_ASPECT * height:
            run = _complete_comb(run, cells, ruling, dpi)
            outer = _outer(Box.union(c.box for c in run), dpi)
            fields.append(Field(box=outer, cells=_even_cells(run, pitch), kind="comb"))
        else:
            kind = "cell" if len(run) > 1 else "box"  # a row of a table, or a lone box
            fields.extend(Field(box=_outer(c.box, dpi), cells=[c], kind=kind) for c in run)
    return fields


def _runs(cells: list[Cell], dpi: float) -> list[list[Cell]]:
    """Cells chained left to right through shared vertical borders, on the same band."""
    gap = dpi * 0.06  # the interiors either side of one border are this close
    cells = sorted(cells, key=lambda c: c.box.x0)
    right_of: dict[int, int] = {}
    for i, cell in enumerate(cells):
        a = cell.box
        neighbours = [
            j for j, other in enumerate(cells)
            if j != i and abs(other.box.x0 - a.x1) <= gap
            and abs(other.box.y0 - a.y0) <= gap and abs(other.box.y1 - a.y1) <= gap
        ]
        if neighbours:
            right_of[i] = min(neighbours, key=lambda j: cells[j].box.x0)
    has_left = set(right_of.values())
    runs = []
    for start in (i for i in range(len(cells)) if i not in has_left):
        run, i = [cells[start]], start
        while i in right_of and len(run) <= len(cells):
            i = right_of[i]
            run.append(cells[i])
        runs.append(run)
    return runs


def _bridge_missing_cells(runs: list[list[Cell]], ruling: np.ndarray, dpi: float) -> list[list[Cell]]:
    """Join comb runs on one line into one run when the cells between them did not close
    (a digit written over a divider, a faint rule broken in the scan), with the missing
    stretch put back as a cell (`_even_cells` cuts it to the comb's pitch)."""
    gap = dpi * 0.06
    runs = sorted(runs, key=lambda run: run[0].box.x0)
    joined: list[list[Cell]] = []
    for run in runs:
        host = next((j for j in joined if _continues(j, run, gap, ruling, dpi)), None)
        if host is None:
            joined.append(run)
            continue
        left, right = host[-1].box, run[0].box
        host.append(_cell(Box(left.x1, left.y0, right.x0, left.y1)))
        host.extend(run)
    return joined


def _continues(run: list[Cell], following: list[Cell], gap: float, ruling: np.ndarray,
               dpi: float) -> bool:
    a, b = run[-1].box, following[0].box
    pitch = float(np.median([c.box.width for c in run + following]))
    comb_like = pitch <= COMB_CELL_MAX_ASPECT * min(a.height, b.height) and len(run + following) > 2
    if not (comb_like and abs(a.y0 - b.y0) <= gap and abs(a.y1 - b.y1) <= gap):
        return False
    between = b.x0 - a.x1
    one_missing = 0.5 * pitch <= between <= 1.5 * pitch
    return one_missing or (between > 0 and _ruled(ruling, a, dpi)[a.x1:b.x0].all())


def _complete_comb(run: list[Cell], cells: list[Cell], ruling: np.ndarray, dpi: float) -> list[Cell]:
    """Put back a comb's end cells whose holes did not close: where the comb's top and bottom
    rules run on past its first or last cell to an end border, the cells are there."""
    period = float(np.median([b.box.x0 - a.box.x0 for a, b in zip(run, run[1:])]))
    width = int(round(np.median([c.box.width for c in run])))
    divider = max(0.0, period - width)
    first, last = run[0].box, run[-1].box
    ruled = _ruled(ruling, first, dpi)
    own = {id(cell) for cell in run}
    for cell in cells:  # the rules may go on into other fields on this line: not this comb's
        if id(cell) not in own and min(cell.box.y1, first.y1) > max(cell.box.y0, first.y0):
            ruled[cell.box.x0:cell.box.x1] = False
    left = _rules_end(ruled, ruling, first, first.x0 - 1, -1)
    right = _rules_end(ruled, ruling, last, last.x1, +1)
    before = int(round((first.x0 - left - divider) / period))
    after = int(round((right - last.x1 - divider) / period))

    def shifted(like: Box, cells_over: int) -> Cell:
        x0 = like.x0 + int(round(cells_over * period))
        return _cell(Box(x0, like.y0, x0 + width, like.y1))

    return ([shifted(first, -k) for k in range(before, 0, -1)] + run
            + [shifted(last, k) for k in range(1, after + 1)])


def _ruled(ruling: np.ndarray, cell: Box, dpi: float) -> np.ndarray:
    """Per page column: do rules run both just above and just below `cell`'s line? Gaps
    shorter than RULING_GAP_IN are filled: they are the scan's, not the form's."""
    band = max(2, int(round(dpi * 0.03)))  # a hole's box includes its border's inner edge
    top = ruling[max(0, cell.y0 - band):cell.y0 + band].any(axis=0)
    bottom = ruling[max(0, cell.y1 - band):cell.y1 + band].any(axis=0)
    both = (top & bottom).astype(np.uint8).reshape(1, -1)
    length = max(1, int(dpi * RULING_GAP_IN))
    return cv2.morphologyEx(both, cv2.MORPH_CLOSE, np.ones((1, length), np.uint8))[0] > 0


def _rules_end(ruled: np.ndarray, ruling: np.ndarray, cell: Box, start: int, step: int) -> int:
    """From column `start` going by `step`: the outer edge of the last ruled column when an
    end border (a vertical rule as tall as the cell) stands there, else where it started."""
    x = start
    while 0 <= x < ruled.size and ruled[x]:
        x += step
    end = x - step  # the last ruled column; start - step when none
    border = ruling[cell.y0:cell.y1, max(0, end - 2):end + 3].any(axis=1).mean() >= 0.8
    if end == start - step or not border:
        end = start - step
    return end + 1 if step > 0 else end


def _cell(box: Box) -> Cell:
    """A cell put back where no hole was found: its outline is its box."""
    return Cell(box, box.corners().astype(np.int32).reshape(-1, 1, 2))


def _even_cells(run: list[Cell], pitch: float) -> list[Cell]:
    """A comb's cells; a hole spanning several cells (a divider too faint to find) is cut
    into cells of the comb's pitch, so each still holds one digit."""
    cells = []
    for cell in run:
        parts = max(1, int(round(cell.box.width / pitch)))
        if parts == 1:
            cells.append(cell)
            continue
        step = cell.box.width / parts
        for k in range(parts):
            x0 = cell.box.x0 + int(round(k * step))
            x1 = cell.box.x0 + int(round((k + 1) * step))
            cells.append(_cell(Box(x0, cell.box.y0, x1, cell.box.y1)))
    return cells


def _outer(interior: Box, dpi: float) -> Box:
    """The printed border around an interior: about one border width outside it."""
    return interior.grow(max(2, int(round(dpi * 0.01))))


def reading_order(fields: list[Field]) -> list[Field]:
    """Top to bottom, then left to right; boxes whose centres are within half a box height of
    each other vertically are one row."""
    ordered: list[Field] = []
    rows: list[list[Field]] = []
    for f in sorted(fields, key=lambda f: f.box.center_y):
        if rows and abs(f.box.center_y - _row_center(rows[-1])) <= f.box.height / 2:
            rows[-1].append(f)
        else:
            rows.append([f])
    for row in rows:
        ordered.extend(sorted(row, key=lambda f: f.box.x0))
    return ordered


def _row_center(row: list[Field]) -> float:
    return float(np.mean([f.box.center_y for f in row]))
