"""Finding number fields: printed boxes, comb fields and table cells, by contour detection.

A box is a *hole* in the page's ruling: the long horizontal and vertical strokes left after
morphological opening. Handwriting inside a box is not part of the ruling (strokes are short or
do not connect to it), and printed labels outside boxes enclose no hole, so neither becomes a
field. A row of narrow cells sharing their borders is a comb: one field, one digit per cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import numpy as np

from digitize.comb_repair import bridge_missing_cells, complete_comb, even_cells
from digitize.geometry import Box, Cell
from digitize.ruling import Ruling
from digitize.segmentation_params import CombParams, FieldParams


@dataclass
class Field:
    box: Box  # outer border, page pixels (deskewed page)
    cells: list[Cell] = field(default_factory=list)  # several for a comb
    # "box", "comb", "cell" (a table cell), "label" (a table row's wide cell beside its digit
    # cells: printed, unless it holds digits), "checkbox" or "unboxed" (ink outside every
    # box found: `digitize.unboxed_ink`)
    kind: str = "box"
    # Found by its top and bottom rules alone, its sides inferred (`digitize.open_boxes`).
    open: bool = False

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


def find_fields(
    ruling: Ruling,
    dpi: float,
    params: FieldParams = FieldParams(),
    combs: CombParams = CombParams(),
) -> list[Field]:
    """Fields on a deskewed page, in reading order, from its ruling (`find_ruling`)."""
    solid = _holes(ruling.solid, dpi, params)
    # Dashed, dotted, worn and rounded borders close only in the tolerant ruling; where a
    # solid border was found, its holes stand (the tolerant one bridges some handwriting).
    # A solid hole inside a tolerant one is its content (a 0 of straight strokes in a dotted
    # box): the tolerant ruling holds every solid rule, so no other solid hole is inside one.
    tolerant = _holes_beside(_holes(ruling.tolerant, dpi, params), solid, params)
    if ruling.fallback is not None:
        fallback = _holes_beside(_holes(ruling.fallback, dpi, params), solid, params)
        # Where the print ink's specks filled the tolerant reading (`page_lines`), its holes
        # are gaps in the noise: one inside a rounded box on a noisy grey page hid the box
        # the fallback found (held-out 9051-10, spent: "77" read of 77916, unflagged).
        first, second = (
            (fallback, tolerant) if tolerant_filled(ruling, params) else (tolerant, fallback)
        )
        tolerant = first + [
            hole
            for hole in second
            if not any(_overlap(hole.box, t.box) > params.tolerant_overlap for t in first)
        ]
    cells = [s for s in solid if not any(_inside(s.box, t.box) for t in tolerant)] + tolerant
    fields = _group_cells(cells, ruling, dpi, params, combs)
    return reading_order(fields + _small_checkboxes(ruling.solid, dpi, params, fields), params)


def page_lines(ruling: Ruling, params: FieldParams) -> np.ndarray:
    """The tolerant ruling, unless print ink was specks everywhere and bridged it into a
    filled page: then its fallback read in the dark ink."""
    if ruling.fallback is not None and tolerant_filled(ruling, params):
        return ruling.fallback
    return ruling.tolerant


def tolerant_filled(ruling: Ruling, params: FieldParams) -> bool:
    """Whether the tolerant ruling is specks bridged into a filled page, not lines."""
    filled = cv2.countNonZero(ruling.tolerant) / ruling.tolerant.size
    return filled > params.filled_ruling_share


def _small_checkboxes(
    ruling: np.ndarray, dpi: float, params: FieldParams, fields: list[Field]
) -> list[Field]:
    """Checkboxes smaller inside than any digit cell (3-4 mm boxes): holes of the solid
    ruling too small to be cells, kept only where they are about square, framed by their own
    ruling alone (`_framed_alone`, in `_holes`) and stand alone. A hole sharing a border with
    another hole is a grid's (a table's print), and one inside or against a field is part of
    it; neither is a question to tick."""
    smallest_cell = dpi * params.min_cell_side_in
    holes = [
        hole
        for hole in _holes(ruling, dpi, params, small_checkboxes=True)
        if min(hole.box.width, hole.box.height) < smallest_cell and _square(hole.box, params)
    ]
    near = dpi * params.shared_border_in
    taken = [f.box.grow(int(near)) for f in fields]
    return [
        Field(box=_outer(hole.box, dpi, params), cells=[hole], kind="checkbox")
        for hole in holes
        if not any(_overlap(hole.box, box) > 0 for box in taken)
        and not any(
            other is not hole and _overlap(hole.box.grow(int(near)), other.box) > 0
            for other in holes
        )
    ]


def _holes_beside(holes: list[Cell], found: list[Cell], params: FieldParams) -> list[Cell]:
    """The holes of a more tolerant reading that no hole already found overlaps (one inside
    a tolerant hole is its content, not a rival)."""
    return [
        hole
        for hole in holes
        if not any(
            _overlap(hole.box, f.box) > params.tolerant_overlap and not _inside(f.box, hole.box)
            for f in found
        )
    ]


def _overlap(a: Box, b: Box) -> float:
    """The area two boxes share, of the smaller one's."""
    return a.shared_area(b) / max(1, min(a.area, b.area))


def _holes(
    ruling: np.ndarray, dpi: float, params: FieldParams, small_checkboxes: bool = False
) -> list[Cell]:
    """Rectangular holes in the ruling, as the interior box of each, at least a digit cell's
    least side both ways, or with `small_checkboxes` a small checkbox's."""
    contours, hierarchy = cv2.findContours(ruling, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    min_side_in = params.min_checkbox_side_in if small_checkboxes else params.min_cell_side_in
    min_side = dpi * min_side_in
    max_height = dpi * params.max_field_height_in
    holes = []
    frames: list[int] = []  # each hole's frame: the ruling around it, by contour index
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0]):
        if parent < 0:  # an outer boundary of ruling, not a hole in it
            continue
        x, y, w, h = cv2.boundingRect(contour)
        if w < min_side or h < min_side or h > max_height:
            continue
        # The hull: ink lying on the border from inside (the base of a 2 on the bottom rule)
        # joins the ruling and dents the hole; the digit's cell is still the whole box.
        hull = cv2.convexHull(contour)
        # The contour runs through the hole's edge pixels' centres: a perfect w x h hole's
        # polygon is (w-1) x (h-1), 12 % short of w x h for a 3 mm checkbox at 150 DPI, so a
        # small checkbox is measured against that. Cells are not: measured so, the gaps in
        # the ruling that noise makes passed for boxes (zoo dev seeds 101-112: 19 more rows
        # matching no field, on noisy and speckled pages).
        rectangle = (w - 1) * (h - 1) if small_checkboxes else w * h
        if not _box_like(cv2.contourArea(contour), cv2.contourArea(hull), rectangle, params):
            continue
        if small_checkboxes and not _framed_alone((x, y, w, h), contours[parent], dpi, params):
            continue
        holes.append(Cell(Box(x, y, x + w, y + h), hull))
        frames.append(parent)
    doubled = _double_borders(holes, frames, contours, dpi, params)
    # A thick 0 or 8 written in a box can itself enclose a hole: it is the box's content.
    return [
        h
        for i, h in enumerate(holes)
        if i not in doubled
        and not any(
            _inside(h.box, other.box)
            for j, other in enumerate(holes)
            if j != i and j not in doubled
        )
    ]


def _double_borders(
    holes: list[Cell],
    frames: list[int],
    contours: Sequence[np.ndarray],
    dpi: float,
    params: FieldParams,
) -> set[int]:
    """The holes (by index) that are only the gap of a double border: a hole holding one
    printed rectangle, a thin rule that fills it all round at one small gap (0.5-2.5 mm on
    printed forms), whose own holes are the box's cells (one, or a comb's).

    Without this the gap's hole was the box and the inner rule its content: the page
    threshold read the rule as a digit and the pencil beside it as too faint (zoo dev 107-10:
    every double box empty; held-out 9022-9030: double boxes 79 % exact, 11 % unflagged wrong).
    A digit written in a box is no such frame: a 0's outline is an oval, not a rectangle, and
    it does not run a thin even gap from the box on all four sides."""
    reach, thin = dpi * params.double_border_gap_in, dpi * params.checkbox_frame_in
    doubled = set()
    for frame in set(frames):
        inner = [h.box for h, f in zip(holes, frames, strict=True) if f == frame]
        x, y, w, h = cv2.boundingRect(contours[frame])
        if cv2.contourArea(contours[frame]) < params.hole_fill * w * h:
            continue  # not a printed rectangle
        rule = Box(x, y, x + w, y + h)
        cells = Box.union(inner)
        if max(_gaps(cells, rule)) > thin:
            continue  # a thick ring (a marker's 0), or holes that do not fill the rectangle
        for i, outer in enumerate(holes):
            gaps = _gaps(rule, outer.box)
            if min(gaps) >= 0 and max(gaps) <= reach and max(gaps) - min(gaps) <= thin:
                doubled.add(i)
    return doubled


def _gaps(inner: Box, outer: Box) -> tuple[int, int, int, int]:
    """How far inside `outer` each side of `inner` lies (negative: outside it)."""
    return (inner.x0 - outer.x0, inner.y0 - outer.y0, outer.x1 - inner.x1, outer.y1 - inner.y1)


def _framed_alone(
    hole: tuple[int, int, int, int], frame: np.ndarray, dpi: float, params: FieldParams
) -> bool:
    """Is the ruling around a small hole its own frame alone, a printed square and nothing
    more? A small hole in a larger piece of ruling is a gap in an emblem's lines or where a
    signature crosses a table's rules (two such on the real election sheets), not a box."""
    x, y, w, h = hole
    fx, fy, fw, fh = cv2.boundingRect(frame)
    reach = dpi * params.checkbox_frame_in
    return (
        x - fx <= reach
        and y - fy <= reach
        and fx + fw - x - w <= reach
        and fy + fh - y - h <= reach
    )


def _box_like(area: float, hull: float, rectangle: float, params: FieldParams) -> bool:
    """A box's hole fills its bounding rectangle; the gap between two letters does not. A
    digit written onto the border (a marker's strokes are ruling at 150 DPI) dents the hole
    deeply but leaves its hull the rectangle."""
    if area >= params.hole_fill * rectangle:
        return True
    return hull >= params.dented_hull_fill * rectangle and area >= params.dented_fill * rectangle


def _inside(inner: Box, outer: Box) -> bool:
    return (
        outer.x0 <= inner.x0
        and outer.y0 <= inner.y0
        and inner.x1 <= outer.x1
        and inner.y1 <= outer.y1
        and inner != outer
    )


def _group_cells(
    cells: list[Cell], ruling: Ruling, dpi: float, params: FieldParams, combs: CombParams
) -> list[Field]:
    """Runs of narrow cells sharing borders become combs (repaired by `comb_repair`, split
    into a table's column blocks); other cells stand alone."""
    runs = _runs(cells, dpi, params, combs)
    # Runs are joined across lost cells where solid rules run between them (the tolerant
    # ruling bridges a table's printed labels into rules: election sheet hal1 lost 2 fields
    # to combs grown over their row's label), or where about one cell's stretch shows any
    # printed line at all.
    rows = bridge_missing_cells(runs, ruling.solid, dpi, combs, printed=ruling.tolerant)
    # End cells are put back along the tolerant ruling too: a drop-out colour comb is ruled
    # only there, and its cells whose holes a digit broke were lost without a flag in the
    # solid one (zoo dev seed 112, form 08: "87" in the last two cells of eight, read empty).
    # The solid one still counts: its rules are rejoined across marker strokes that cut them.
    repair = cv2.bitwise_or(ruling.solid, page_lines(ruling, params))
    fields = []
    for row in rows:
        fields.extend(_row_fields(row, cells, repair, dpi, params, combs))
    return fields


def _row_fields(
    row: list[Cell],
    cells: list[Cell],
    ruling: np.ndarray,
    dpi: float,
    params: FieldParams,
    combs: CombParams,
) -> list[Field]:
    """The fields of one row of cells: its combs (cut into column blocks), its label cells,
    and its other cells."""
    fields = []
    lost = _pitch_across_lost_dividers(row, dpi, params, combs)
    for run in [row] if lost else _without_label_cells(row, combs):
        if len(run) == 1 < len(row) and run[0].box.width > combs.label_cells * _pitch(row):
            fields.append(Field(box=_outer(run[0].box, dpi, params), cells=run, kind="label"))
            continue
        pitch = lost or _pitch(run)
        height = float(np.median([c.box.height for c in run]))
        if len(run) > 1 and pitch <= combs.max_cell_aspect * height:
            run = even_cells(complete_comb(run, cells, ruling, dpi, combs), pitch)
            for block in column_blocks(run, cells, ruling, combs):
                outer = _outer(Box.union(c.box for c in block), dpi, params)
                fields.append(Field(box=outer, cells=block, kind="comb"))
        else:
            fields.extend(
                Field(
                    box=_outer(c.box, dpi, params), cells=[c], kind=_kind(c.box, row, dpi, params)
                )
                for c in run
            )
    return fields


def _pitch(run: list[Cell]) -> float:
    return float(np.median([c.box.width for c in run]))


def _pitch_across_lost_dividers(
    row: list[Cell], dpi: float, params: FieldParams, combs: CombParams
) -> float | None:
    """The pitch of a comb most of whose dividers were lost, found as a few wide cells side
    by side: marker digits over the dividers take them out with the strokes (zoo dev seed
    109: three 8-cell combs found as cells 4, 3 and 1 digits wide, none read as one field).
    It is one when its narrowest cell is one digit wide, the cells share their borders, and
    each is about a whole number of pitches, and at most a few (a table's label cell is
    many); None otherwise, and for a row of one-digit cells."""
    if len(row) < 2:
        return None
    height = float(np.median([c.box.height for c in row]))
    narrowest = min(c.box.width for c in row)
    if narrowest > combs.max_cell_aspect * height:
        return None
    counts = [max(1, int(round(c.box.width / narrowest))) for c in row]
    pitch = (row[-1].box.x1 - row[0].box.x0) / sum(counts)
    pitches = [c.box.width / pitch for c in row]
    shared = all(
        abs(b.box.x0 - a.box.x1) <= dpi * params.shared_border_in for a, b in pairwise(row)
    )
    whole = all(abs(p - round(p)) <= combs.lost_divider_tolerance for p in pitches)
    few = all(round(p) <= combs.lost_divider_cells for p in pitches)
    merged = max(counts) >= 2
    return pitch if shared and whole and few and merged else None


def _without_label_cells(run: list[Cell], combs: CombParams) -> list[list[Cell]]:
    """A table row's cells apart at its label cells: a cell many digit cells wide holds the
    row's printed label (never digits to cut at the pitch), and a narrow cell of another width
    at either end of the digit cells holds a row number."""
    pitch = _pitch(run)
    parts: list[list[Cell]] = [[]]
    for cell in run:
        if cell.box.width > combs.label_cells * pitch:
            parts += [[cell], []]
        else:
            parts[-1].append(cell)
    return [p for part in parts if part for p in _apart_at_odd_ends(part, combs)]


def _apart_at_odd_ends(run: list[Cell], combs: CombParams) -> list[list[Cell]]:
    if len(run) < 3:
        return [run]
    pitch = float(np.median([c.box.width for c in run]))

    def odd(cell: Cell) -> bool:
        ratio = max(cell.box.width, pitch) / max(1, min(cell.box.width, pitch))
        return ratio > combs.separated_size_ratio * 1.2

    head = [run[0]] if odd(run[0]) and not odd(run[1]) else []
    tail = [run[-1]] if odd(run[-1]) and not odd(run[-2]) else []
    middle = run[len(head) : len(run) - len(tail)]
    return [p for p in (head, middle, tail) if p]


def column_blocks(
    comb: list[Cell], cells: list[Cell], ruling: np.ndarray, combs: CombParams
) -> list[list[Cell]]:
    """A comb in a table, cut into the numbers its column headers group it into: the nearest
    row of cells above it that tiles it exactly, each header over two or more of its cells,
    with edges on its dividers, and joined to it by the table's frame. Without one the comb
    is one number."""
    if len(comb) < 4:
        return [comb]
    pitch = float(np.median([c.box.width for c in comb]))
    tolerance = max(combs.block_tolerance_px, combs.block_tolerance * pitch)
    edges = np.array([c.box.x0 for c in comb] + [comb[-1].box.x1], np.float64)
    top = min(c.box.y0 for c in comb)

    def on_edge(x: float) -> int | None:
        k = int(np.argmin(np.abs(edges - x)))
        return k if abs(edges[k] - x) <= tolerance else None

    headers = []
    for cell in cells:
        start, end = on_edge(cell.box.x0), on_edge(cell.box.x1)
        above = cell.box.y1 <= top + tolerance
        if above and start is not None and end is not None and end - start >= 2:
            headers.append((cell.box.y0, cell.box.y1, start, end))
    for y0 in sorted({y for y, _, _, _ in headers}, reverse=True):  # the nearest row first
        row = sorted((s, e, y1) for y, y1, s, e in headers if abs(y - y0) <= tolerance)
        starts, ends = [s for s, _, _ in row], [e for _, e, _ in row]
        tiles = starts[0] == 0 and ends[-1] == len(comb) and starts[1:] == ends[:-1]
        if tiles and len(row) >= 2:
            bottom = min(y1 for _, _, y1 in row)
            # Boxes a blank stretch higher up that happen to line up with the comb's dividers
            # are another field, not its headers (zoo dev seed 117: a date comb cut 6 + 2 under
            # two boxes 130 px above it, "02082025" read "020820" without a flag). A table's
            # headers and rows are one frame: a border at its first or last column runs from
            # one to the other (on the election sheet hal1 the inner column rules break at a
            # blank band under the headers, 38-84 % of the way down; its outer border 100 %).
            sides = (int(edges[0]), int(edges[-1]))
            if any(_ruled_down(ruling, x, bottom, top, tolerance, combs) for x in sides):
                return [comb[s:e] for s, e, _ in row]
    return [comb]


def _ruled_down(
    ruling: np.ndarray, x: int, y0: int, y1: int, reach: float, combs: CombParams
) -> bool:
    """Does a vertical rule run at column `x` (within `reach`) over most of y0..y1?"""
    if y1 <= y0:
        return True
    r = int(np.ceil(reach))
    band = ruling[y0:y1, max(0, x - r) : x + r + 1]
    return band.size > 0 and float(band.any(axis=1).mean()) >= combs.column_rule_cover


def _kind(hole: Box, run: list[Cell], dpi: float, params: FieldParams) -> str:
    """A table cell (one of a row of cells), a checkbox (small and square) or a plain box."""
    if len(run) > 1:
        return "cell"
    small = max(hole.width, hole.height) <= dpi * params.checkbox_max_side_in
    return "checkbox" if small and _square(hole, params) else "box"


def _square(hole: Box, params: FieldParams) -> bool:
    return max(hole.width, hole.height) <= params.checkbox_max_aspect * min(hole.width, hole.height)


def _runs(
    cells: list[Cell], dpi: float, params: FieldParams, combs: CombParams
) -> list[list[Cell]]:
    """Cells chained left to right, on the same band: through shared vertical borders, or,
    for one-digit cells of one size, across the small gaps of a comb of separate boxes."""
    cells = sorted(cells, key=lambda c: c.box.x0)
    right_of: dict[int, int] = {}
    for i, cell in enumerate(cells):
        neighbours = [
            j
            for j, other in enumerate(cells)
            if j != i and _next_in_row(cell.box, other.box, dpi, params, combs)
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


def _next_in_row(a: Box, b: Box, dpi: float, params: FieldParams, combs: CombParams) -> bool:
    """Is `b` the next cell of `a`'s row: one border between them, or a comb's next box?"""
    gap = dpi * params.shared_border_in  # the interiors either side of one border are this close
    if abs(b.y0 - a.y0) > gap or abs(b.y1 - a.y1) > gap:
        return False
    between = b.x0 - a.x1
    if abs(between) <= gap:
        return True
    # A comb of separate boxes: cells of one size, each one digit wide, a little apart.
    narrow = max(a.width, b.width) <= combs.max_cell_aspect * min(a.height, b.height)
    alike = max(a.width, b.width) <= combs.separated_size_ratio * min(a.width, b.width)
    return narrow and alike and 0 < between <= combs.separated_gap * min(a.width, b.width)


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
