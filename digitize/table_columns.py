"""Table rows whose dividers the ruling missed take them from the combs above or below them.

In a table every row of one-digit cells shares the column's dividers. Where a row's dividers
are faint, broken or dashed by the scan (the election sheets' watermarked rows: medians of 175
and 211 grey levels on 250 paper, too broken to be ruling), the row is found as one wide cell,
and read whole its dividers become digits (`303` read as `46`). Such a cell is cut at the
dividers of the combs that tile its width in the next row up or down, but only where the
page's grey shows a divider at each of those places: a box that merely lines up with a comb is
left whole.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from digitize.fields import Field
from digitize.geometry import Box, Cell
from digitize.segmentation_params import CombParams, InkParams


def inherit_column_dividers(
    fields: list[Field],
    gray: np.ndarray,
    dpi: float,
    combs: CombParams = CombParams(),
    ink: InkParams = InkParams(),
) -> list[Field]:
    """The fields, with each wide table cell under (or over) combs of its width, whose grey
    shows their dividers, cut into those combs' columns. Repeated, so that a column's dividers
    pass down (or up) a table row by row."""
    for _ in range(len(fields)):
        changed = False
        result: list[Field] = []
        for target in fields:
            cut = _cut_at_columns(target, fields, gray, combs, ink) if _whole(target) else None
            result.extend(cut or [target])
            changed = changed or cut is not None
        fields = result
        if not changed:
            break
    return fields


def _whole(target: Field) -> bool:
    return target.kind in ("box", "cell") and len(target.cells) == 1


def _cut_at_columns(
    target: Field, fields: list[Field], gray: np.ndarray, combs: CombParams, ink: InkParams
) -> list[Field] | None:
    hole = target.interior
    for blocks in (_neighbours(target, fields, combs, above) for above in (True, False)):
        if not blocks:
            continue
        cells = [c for block in blocks for c in block.cells]
        dividers = [round((a.box.x1 + b.box.x0) / 2) for a, b in pairwise(cells)]
        if not _shows_dividers(gray, hole, dividers, _tolerance(cells, combs), ink):
            continue
        return [
            Field(
                box=Box(block.box.x0, target.box.y0, block.box.x1, target.box.y1),
                cells=[_in_row(c, hole) for c in block.cells],
                kind="comb",
                open=target.open,
            )
            for block in blocks
        ]
    return None


def _neighbours(target: Field, fields: list[Field], combs: CombParams, above: bool) -> list[Field]:
    """The combs of the next row above (or below) `target` that together tile its width, left
    to right; none when they do not."""
    hole = target.interior
    row = sorted(
        (
            f
            for f in fields
            if f.kind == "comb"
            and _touching(target.box, f.box, above, _tolerance(f.cells, combs))
            and f.interior.x0 < hole.x1
            and f.interior.x1 > hole.x0
        ),
        key=lambda f: f.interior.x0,
    )
    if not row:
        return []
    tolerance = _tolerance([c for f in row for c in f.cells], combs)
    edges = [(f.interior.x0, f.interior.x1) for f in row]
    tiles = (
        abs(edges[0][0] - hole.x0) <= tolerance
        and abs(edges[-1][1] - hole.x1) <= tolerance
        and all(abs(b[0] - a[1]) <= tolerance for a, b in pairwise(edges))
    )
    return row if tiles else []


def _touching(box: Box, other: Box, above: bool, tolerance: float) -> bool:
    """Is `other` the next row up (or down) of a table: sharing `box`'s border, within
    `tolerance`?"""
    gap = box.y0 - other.y1 if above else other.y0 - box.y1
    return -tolerance <= gap <= tolerance


def _tolerance(cells: list[Cell], combs: CombParams) -> float:
    pitch = float(np.median([c.box.width for c in cells]))
    return max(combs.block_tolerance_px, combs.block_tolerance * pitch)


def _shows_dividers(
    gray: np.ndarray, hole: Box, dividers: list[int], tolerance: float, ink: InkParams
) -> bool:
    """Does the hole's grey hold a printed rule at each divider: a column darker than the
    hole's paper by `ink.min_contrast` over most of its height? The median over the column
    ignores a digit written across it."""
    region = gray[hole.slice()].astype(np.int16)
    paper = float(np.median(region))
    darkness = paper - np.median(region, axis=0)
    reach = int(np.ceil(tolerance))
    for x in dividers:
        lo, hi = max(0, x - hole.x0 - reach), min(region.shape[1], x - hole.x0 + reach + 1)
        if hi <= lo or darkness[lo:hi].max() < ink.min_contrast:
            return False
    return bool(dividers)


def _in_row(cell: Cell, hole: Box) -> Cell:
    return Cell.of_box(Box(max(cell.box.x0, hole.x0), hole.y0, min(cell.box.x1, hole.x1), hole.y1))
