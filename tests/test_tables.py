"""Table rows: a wide label cell is no digit cell, and a row of one-digit cells is cut into
the numbers that the column headers above it tile (the election sheets' layout)."""

from __future__ import annotations

import cv2
import numpy as np

from digitize.fields import _without_label_cells, column_blocks
from digitize.geometry import Box, Cell
from digitize.segmentation import segment_page
from digitize.segmentation_params import CombParams


def cell(x0: int, x1: int, y0: int = 100, y1: int = 140) -> Cell:
    box = Box(x0, y0, x1, y1)
    return Cell(box, box.corners().astype(np.int32).reshape(-1, 1, 2))


def digit_cells(x0: int, count: int, pitch: int = 50) -> list[Cell]:
    return [cell(x0 + k * (pitch + 1), x0 + k * (pitch + 1) + pitch) for k in range(count)]


def test_a_label_cell_and_a_row_number_are_apart_from_the_digit_cells():
    digits = digit_cells(700, 9)
    row = [cell(40, 72), cell(73, 690), *digits]
    parts = _without_label_cells(row, CombParams())
    assert [len(p) for p in parts] == [1, 1, 9]
    assert parts[2] == digits


def column_rules(cells: list[Cell], y0: int = 40, y1: int = 140) -> np.ndarray:
    """A ruling with a vertical rule at every edge of `cells`, from y0 to y1."""
    ruling = np.zeros((200, 1300), np.uint8)
    for c in cells:
        for x in (c.box.x0, c.box.x1):
            ruling[y0:y1, x - 1 : x + 2] = 255
    return ruling


def test_column_headers_that_tile_a_comb_cut_it_into_numbers():
    comb = digit_cells(700, 9)
    headers = [cell(comb[k].box.x0, comb[k + 2].box.x1, 40, 80) for k in (0, 3, 6)]
    blocks = column_blocks(comb, [*headers, *comb], column_rules(comb), CombParams())
    assert [len(b) for b in blocks] == [3, 3, 3]


def test_without_headers_that_tile_it_a_comb_stays_one_number():
    comb = digit_cells(700, 9)
    # A box above that covers only part of the comb, and one whose edges miss the dividers.
    others = [cell(comb[0].box.x0, comb[2].box.x1, 40, 80), cell(comb[3].box.x0 + 20, 1100, 40, 80)]
    assert column_blocks(comb, [*others, *comb], column_rules(comb), CombParams()) == [comb]


def test_boxes_above_a_blank_band_are_not_the_combs_headers():
    """Two boxes a row higher up whose edges happen to fall on a comb's dividers (zoo dev seed
    117: a date comb cut 6 + 2) are another field: no column rule joins them to the comb."""
    comb = digit_cells(700, 8)
    boxes = [
        cell(comb[0].box.x0, comb[5].box.x1, 0, 40),
        cell(comb[6].box.x0, comb[7].box.x1, 0, 40),
    ]
    ruling = column_rules(boxes, 0, 40) | column_rules(comb, 100, 140)
    assert column_blocks(comb, [*boxes, *comb], ruling, CombParams()) == [comb]


def table_page(dividers: int | None) -> np.ndarray:
    """Two rows of a table at 200 DPI, three one-digit cells each: the top row's dividers
    solid, the bottom row's light grey and dashed (grey `dividers`; None: not drawn)."""
    page = np.full((1100, 850), 250, np.uint8)
    x0, x1, pitch, top, height = 300, 480, 60, 300, 80
    cv2.rectangle(page, (x0, top), (x1, top + 2 * height), 30, 3)
    cv2.line(page, (x0, top + height), (x1, top + height), 30, 3)
    for k in (1, 2):
        x = x0 + k * pitch
        cv2.line(page, (x, top), (x, top + height), 30, 3)
        if dividers is not None:
            for y in range(top + height, top + 2 * height, 12):
                cv2.line(page, (x, y), (x, y + 6), dividers, 2)
    return page


def test_a_row_whose_dividers_the_ruling_missed_takes_the_columns_of_the_row_above():
    fields = segment_page(table_page(190), 200).fields
    assert [(f.field.kind, len(f.field.cells)) for f in fields] == [("comb", 3), ("comb", 3)]


def test_a_box_that_only_lines_up_with_a_comb_stays_whole():
    fields = segment_page(table_page(None), 200).fields
    assert [(f.field.kind, len(f.field.cells)) for f in fields] == [("comb", 3), ("box", 1)]
