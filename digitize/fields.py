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

from digitize.comb_repair import bridge_missing_cells, complete_comb, even_cells
from digitize.geometry import Box, Cell
from digitize.segmentation_params import CombParams, FieldParams


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


def find_ruling(ink: np.ndarray, dpi: float, params: FieldParams = FieldParams()) -> np.ndarray:
    """Long horizontal and vertical strokes (box borders, table rules), slightly thickened."""
    length = max(params.min_ruling_px, int(dpi * params.min_ruling_in))
    # A printed line one or two pixels thin wanders by a pixel in the scan: look for straight
    # strokes in the ink thickened across them, then keep only the ink itself.
    across = params.ruling_thicken_px
    across_rows = cv2.dilate(ink, np.ones((across, 1), np.uint8))
    across_columns = cv2.dilate(ink, np.ones((1, across), np.uint8))
    horizontal = cv2.morphologyEx(across_rows, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    vertical = cv2.morphologyEx(across_columns, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8))
    ruling = cv2.bitwise_and(cv2.bitwise_or(horizontal, vertical), ink)
    # Closing bridges the small gaps of a worn or noisy border, so its hole is closed.
    bridge = params.ruling_bridge_px
    return cv2.morphologyEx(ruling, cv2.MORPH_CLOSE, np.ones((bridge, bridge), np.uint8))


def find_fields(
    ruling: np.ndarray,
    dpi: float,
    params: FieldParams = FieldParams(),
    combs: CombParams = CombParams(),
) -> list[Field]:
    """Fields on a deskewed page, in reading order, from its ruling (`find_ruling`)."""
    cells = _holes(ruling, dpi, params)
    return reading_order(_group_cells(cells, ruling, dpi, params, combs), params)


def _holes(ruling: np.ndarray, dpi: float, params: FieldParams) -> list[Cell]:
    """Rectangular holes in the ruling, as the interior box of each."""
    contours, hierarchy = cv2.findContours(ruling, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    min_side = dpi * params.min_cell_side_in
    max_height = dpi * params.max_field_height_in
    holes = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0]):
        if parent < 0:  # an outer boundary of ruling, not a hole in it
            continue
        x, y, w, h = cv2.boundingRect(contour)
        if w < min_side or h < min_side or h > max_height:
            continue
        # A box's hole fills its bounding rectangle; the gap between two letters does not.
        if cv2.contourArea(contour) < params.hole_fill * w * h:
            continue
        # The hull: ink lying on the border from inside (the base of a 2 on the bottom rule)
        # joins the ruling and dents the hole; the digit's cell is still the whole box.
        holes.append(Cell(Box(x, y, x + w, y + h), cv2.convexHull(contour)))
    # A thick 0 or 8 written in a box can itself enclose a hole: it is the box's content.
    return [
        h for h in holes if not any(_inside(h.box, other.box) for other in holes if other is not h)
    ]


def _inside(inner: Box, outer: Box) -> bool:
    return (
        outer.x0 <= inner.x0
        and outer.y0 <= inner.y0
        and inner.x1 <= outer.x1
        and inner.y1 <= outer.y1
        and inner != outer
    )


def _group_cells(
    cells: list[Cell], ruling: np.ndarray, dpi: float, params: FieldParams, combs: CombParams
) -> list[Field]:
    """Runs of narrow cells sharing borders become combs (repaired by `comb_repair`);
    other cells stand alone."""
    fields = []
    for run in bridge_missing_cells(_runs(cells, dpi, params), ruling, dpi, combs):
        pitch = float(np.median([c.box.width for c in run]))
        height = float(np.median([c.box.height for c in run]))
        if len(run) > 1 and pitch <= combs.max_cell_aspect * height:
            run = complete_comb(run, cells, ruling, dpi, combs)
            outer = _outer(Box.union(c.box for c in run), dpi, params)
            fields.append(Field(box=outer, cells=even_cells(run, pitch), kind="comb"))
        else:
            kind = "cell" if len(run) > 1 else "box"  # a row of a table, or a lone box
            fields.extend(Field(box=_outer(c.box, dpi, params), cells=[c], kind=kind) for c in run)
    return fields


def _runs(cells: list[Cell], dpi: float, params: FieldParams) -> list[list[Cell]]:
    """Cells chained left to right through shared vertical borders, on the same band."""
    gap = dpi * params.shared_border_in  # the interiors either side of one border are this close
    cells = sorted(cells, key=lambda c: c.box.x0)
    right_of: dict[int, int] = {}
    for i, cell in enumerate(cells):
        a = cell.box
        neighbours = [
            j
            for j, other in enumerate(cells)
            if j != i
            and abs(other.box.x0 - a.x1) <= gap
            and abs(other.box.y0 - a.y0) <= gap
            and abs(other.box.y1 - a.y1) <= gap
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


def _outer(interior: Box, dpi: float, params: FieldParams) -> Box:
    """The printed border around an interior: about one border width outside it."""
    return interior.grow(max(params.min_border_px, int(round(dpi * params.border_in))))


def reading_order(fields: list[Field], params: FieldParams = FieldParams()) -> list[Field]:
    """Top to bottom, then left to right; boxes whose centres are within half a box height of
    each other vertically (`same_row`) are one row."""
    ordered: list[Field] = []
    rows: list[list[Field]] = []
    for f in sorted(fields, key=lambda f: f.box.center_y):
        if rows and abs(f.box.center_y - _row_center(rows[-1])) <= f.box.height * params.same_row:
            rows[-1].append(f)
        else:
            rows.append([f])
    for row in rows:
        ordered.extend(sorted(row, key=lambda f: f.box.x0))
    return ordered


def _row_center(row: list[Field]) -> float:
    return float(np.mean([f.box.center_y for f in row]))
