"""Comb repair: a comb's cells put back where the scan lost their holes.

A comb's cell is found as a hole in the ruling (`digitize.fields`), and a hole that does not
close is not found: a digit written over a divider, a faintly printed rule broken in the scan,
a divider too faint to find. The comb's rules still say where its cells are, so:

- runs of cells on one line are joined across the cells missing between them
  (`bridge_missing_cells`);
- end cells are put back where the top and bottom rules run on to an end border
  (`complete_comb`);
- a hole spanning several cells is cut to the comb's pitch (`even_cells`).
"""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np

from digitize.geometry import Box, Cell
from digitize.segmentation_params import CombParams


def bridge_missing_cells(
    runs: list[list[Cell]],
    ruling: np.ndarray,
    dpi: float,
    params: CombParams = CombParams(),
    printed: np.ndarray | None = None,
) -> list[list[Cell]]:
    """Join comb runs on one line into one run when the cells between them did not close
    (a digit written over a divider, a faint rule broken in the scan), with the missing
    cells put back at the comb's period. `printed`: every line the page's print shows (the
    tolerant ruling; `ruling` when None), to tell a lost cell from blank paper."""
    gap = dpi * params.line_tolerance_in
    printed = ruling if printed is None else printed
    runs = sorted(runs, key=lambda run: run[0].box.x0)
    joined: list[list[Cell]] = []
    for run in runs:
        host = next(
            (j for j in joined if _continues(j, run, gap, ruling, printed, dpi, params)), None
        )
        if host is None:
            joined.append(run)
            continue
        host.extend(_lost_cells(host, run))
        host.extend(run)
    return joined


def _lost_cells(run: list[Cell], following: list[Cell]) -> list[Cell]:
    """The cells between two runs of one comb, at the comb's period: a comb of separate
    boxes lost a box and the gaps either side of it, one cell, not two (`even_cells` would
    cut a stretch of one box and two gaps at the width of a box)."""
    period, width, divider = _spacing([run, following])
    left, right = run[-1].box, following[0].box
    count = max(1, int(round((right.x0 - left.x1 - divider) / period)))
    if count == 1 and divider < 1:  # shared dividers: the stretch is the cell
        return [Cell.of_box(Box(left.x1, left.y0, right.x0, left.y1))]
    lost = []
    for k in range(count):
        x0 = left.x1 + int(round(divider + k * period))
        if x0 >= right.x0 - 1:
            break
        lost.append(Cell.of_box(Box(x0, left.y0, min(x0 + width, right.x0), left.y1)))
    return lost


def _continues(
    run: list[Cell],
    following: list[Cell],
    gap: float,
    ruling: np.ndarray,
    printed: np.ndarray,
    dpi: float,
    params: CombParams,
) -> bool:
    a, b = run[-1].box, following[0].box
    pitch = float(np.median([c.box.width for c in run + following]))
    comb_like = (
        pitch <= params.max_cell_aspect * min(a.height, b.height)
        and len(run + following) >= params.min_joined_cells
    )
    if not (comb_like and abs(a.y0 - b.y0) <= gap and abs(a.y1 - b.y1) <= gap):
        return False
    between = b.x0 - a.x1
    if between <= 0:
        return False
    top, bottom = _rules_along(printed, a, dpi, params)
    # A cell lost from a comb still leaves its rules, or some of them; blank paper between
    # two runs is the space between two combs (zoo dev seed 115: an account comb and an
    # amount comb of separate boxes a pitch apart, joined and read as one number).
    one_missing = (
        params.missing_cell_min * pitch <= between <= params.missing_cell_max * pitch
        and (top | bottom)[a.x1 : b.x0].mean() >= params.missing_cell_ruled
    )
    return one_missing or bool(_ruled(ruling, a, dpi, params)[a.x1 : b.x0].all())


def complete_comb(
    run: list[Cell],
    cells: list[Cell],
    ruling: np.ndarray,
    dpi: float,
    params: CombParams = CombParams(),
) -> list[Cell]:
    """Put back a comb's end cells whose holes did not close: where the comb's top and bottom
    rules run on past its first or last cell to an end border, the cells are there."""
    period, width, divider = _spacing([run])
    first, last = run[0].box, run[-1].box
    ruled = _ruled(ruling, first, dpi, params)
    own = {id(cell) for cell in run}
    for cell in cells:  # the rules may go on into other fields on this line: not this comb's
        if id(cell) not in own and min(cell.box.y1, first.y1) > max(cell.box.y0, first.y0):
            ruled[cell.box.x0 : cell.box.x1] = False
    left = _rules_end(ruled, ruling, first, first.x0 - 1, -1, params)
    right = _rules_end(ruled, ruling, last, last.x1, +1, params)
    before = int(round((first.x0 - left - divider) / period))
    after = int(round((right - last.x1 - divider) / period))

    def shifted(like: Box, cells_over: int) -> Cell:
        x0 = like.x0 + int(round(cells_over * period))
        return Cell.of_box(Box(x0, like.y0, x0 + width, like.y1))

    # Where print ink is specks everywhere (noisy grey paper), the tolerant ruling rules
    # the whole line, and the walk would run off the page.
    on_page = range(0, ruling.shape[1] + 1)
    return (
        [c for k in range(before, 0, -1) if (c := shifted(first, -k)).box.x0 in on_page]
        + run
        + [c for k in range(1, after + 1) if (c := shifted(last, k)).box.x1 in on_page]
    )


def _spacing(parts: list[list[Cell]]) -> tuple[float, int, float]:
    """(period, cell width, gap between cells) of a comb found as `parts`, runs of adjacent
    cells: the period from steps within each run, never across a stretch of lost cells."""
    width = int(round(np.median([c.box.width for part in parts for c in part])))
    steps = [b.box.x0 - a.box.x0 for part in parts for a, b in pairwise(part)]
    period = float(np.median(steps)) if steps else float(width)
    return period, width, max(0.0, period - width)


def _rules_along(
    ruling: np.ndarray, cell: Box, dpi: float, params: CombParams
) -> tuple[np.ndarray, np.ndarray]:
    """Per page column: does a rule run just above `cell`'s line, and just below it?"""
    # A hole's box includes its border's inner edge.
    band = max(params.min_rule_band_px, int(round(dpi * params.rule_band_in)))
    top = np.asarray(ruling[max(0, cell.y0 - band) : cell.y0 + band].any(axis=0))
    bottom = np.asarray(ruling[max(0, cell.y1 - band) : cell.y1 + band].any(axis=0))
    return top, bottom


def _ruled(ruling: np.ndarray, cell: Box, dpi: float, params: CombParams) -> np.ndarray:
    """Per page column: do rules run both just above and just below `cell`'s line? Gaps
    shorter than RULING_GAP_IN (`ruling_gap_in`) are filled: they are the scan's, not the
    form's."""
    top, bottom = _rules_along(ruling, cell, dpi, params)
    both = (top & bottom).astype(np.uint8).reshape(1, -1)
    length = max(1, int(dpi * params.ruling_gap_in))
    return cv2.morphologyEx(both, cv2.MORPH_CLOSE, np.ones((1, length), np.uint8))[0] > 0


def _rules_end(
    ruled: np.ndarray, ruling: np.ndarray, cell: Box, start: int, step: int, params: CombParams
) -> int:
    """From column `start` going by `step`: the outer edge of the last ruled column when an
    end border (a vertical rule as tall as the cell) stands there, else where it started."""
    x = start
    while 0 <= x < ruled.size and ruled[x]:
        x += step
    end = x - step  # the last ruled column; start - step when none
    reach = params.end_border_px
    column = ruling[cell.y0 : cell.y1, max(0, end - reach) : end + reach + 1]
    border = column.any(axis=1).mean() >= params.end_border_cover
    if end == start - step or not border:
        end = start - step
    return end + 1 if step > 0 else end


def even_cells(run: list[Cell], pitch: float) -> list[Cell]:
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
            cells.append(Cell.of_box(Box(x0, cell.box.y0, x1, cell.box.y1)))
    return cells
