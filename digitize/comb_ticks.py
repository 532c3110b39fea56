"""Tick combs: one printed rectangle whose cells are marked only by short ticks.

Many forms draw a comb as a single box with short ticks rising from its bottom rule (or
hanging from its top one) instead of full dividers. The ticks are too short to be ruling, so
the box is found as one hole (`digitize.fields`) and, read as it is, every tick becomes a 1.
A box is a tick comb when short upright strokes standing on one of its rules fall at an even
pitch across its whole width; it is then cut into cells at the ticks, where the cells' borders
(and so the ticks) are carved out of the digits' ink (`Field.interior_mask`).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from digitize.fields import Field
from digitize.geometry import Box, Cell
from digitize.segmentation_params import CombParams


def find_tick_combs(
    fields: list[Field], ink: np.ndarray, dpi: float, params: CombParams = CombParams()
) -> list[Field]:
    """The fields, with each plain box that is a tick comb cut into its cells."""
    return [_as_tick_comb(f, ink, dpi, params) or f if f.kind == "box" else f for f in fields]


def _as_tick_comb(field: Field, ink: np.ndarray, dpi: float, params: CombParams) -> Field | None:
    hole = field.cells[0].box
    if hole.width < 2 * params.min_tick_cells_aspect * hole.height:
        return None  # room for two narrow cells at most: no comb worth cutting
    region = ink[hole.slice()] > 0
    for standing in (region[::-1], region):  # ticks rising from the bottom, hanging from the top
        ticks = _ticks(standing, dpi, params)
        cells = _even_cells(ticks, hole, params)
        if cells:
            return Field(box=field.box, cells=cells, kind="comb", open=field.open)
    return None


def _ticks(region: np.ndarray, dpi: float, params: CombParams) -> list[float]:
    """Centres (columns) of short upright strokes standing on the region's first row."""
    height = region.shape[0]
    # How far ink rises unbroken from the rule, per column (a pixel's grace for the border's
    # inner edge).
    start = min(2, height - 1)
    rise = np.argmin(np.vstack([region[start:], np.zeros((1, region.shape[1]), bool)]), axis=0)
    tick = (rise >= params.tick_min_rise * height) & (rise <= params.tick_max_rise * height)
    widest = max(1, int(round(dpi * params.tick_max_width_in)))
    centres = []
    columns = np.flatnonzero(tick)
    for run in np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1) if columns.size else []:
        centre = float(run.mean())
        # Ink rising at the hole's very edge is the box's own side rule (its inner edge, ragged
        # or a pixel off the hole), not a tick: counted as two strays, it kept whole tick
        # combs from being cut (zoo dev 107-10: two of four).
        beside_side = min(centre, region.shape[1] - 1 - centre) < widest
        if run.size <= widest and not beside_side:
            centres.append(centre)
    return centres


def _even_cells(ticks: list[float], hole: Box, params: CombParams) -> list[Cell] | None:
    """The hole cut into n equal cells when the ticks stand at (nearly) every cut and hardly
    anywhere else; None when no n fits."""
    if not ticks:
        return None
    centres = np.asarray(ticks) + hole.x0
    most = int(hole.width / (params.min_tick_cells_aspect * hole.height))
    for count in range(most, 1, -1):
        pitch = hole.width / count
        if pitch > params.max_cell_aspect * hole.height:
            return None  # fewer cells would be wider still: no comb
        cuts = hole.x0 + pitch * np.arange(1, count)
        near = np.abs(centres[:, None] - cuts[None, :]) <= params.tick_tolerance * pitch
        found = int(near.any(axis=0).sum())
        stray = int((~near.any(axis=1)).sum())
        if found >= max(2, params.tick_found_share * (count - 1)) and stray <= params.tick_stray:
            edges = [int(round(hole.x0 + k * pitch)) for k in range(count + 1)]
            return [Cell.of_box(Box(x0, hole.y0, x1, hole.y1)) for x0, x1 in pairwise(edges)]
    return None
