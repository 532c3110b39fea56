"""Comb repair on synthetic rulings: cells put back where the comb's rules say they are, and
never across blank paper between two combs."""

from __future__ import annotations

import cv2
import numpy as np

from digitize.fields import find_fields
from digitize.ruling import Ruling

DPI = 200.0
TOP, HEIGHT = 200, 70


def blank() -> np.ndarray:
    return np.zeros((500, 1400), np.uint8)


def shared_comb(ruling: np.ndarray, x0: int, cells: int, pitch: int = 50) -> None:
    cv2.rectangle(ruling, (x0, TOP), (x0 + cells * pitch, TOP + HEIGHT), 255, 3)
    for k in range(1, cells):
        x = x0 + k * pitch
        cv2.line(ruling, (x, TOP), (x, TOP + HEIGHT), 255, 3)


def separate_boxes(ruling: np.ndarray, x0: int, cells: int, width: int = 44, gap: int = 16) -> None:
    for k in range(cells):
        x = x0 + k * (width + gap)
        cv2.rectangle(ruling, (x, TOP), (x + width, TOP + HEIGHT), 255, 3)


def combs(ruling: Ruling) -> list[list[int]]:
    """Each comb's cells, as their left edges."""
    found = find_fields(ruling, DPI)
    return [[cell.box.x0 for cell in f.cells] for f in found if f.kind == "comb"]


def test_a_drop_out_comb_keeps_the_cells_whose_holes_a_digit_broke():
    """A drop-out colour comb is ruled only in the tolerant reading (from the light print);
    digits that cross its last two cells leave no hole there. Its rules still run to its
    end border, so the cells are put back (zoo dev seed 112: "87" in the last two cells of
    eight was read empty, unflagged)."""
    tolerant = blank()
    shared_comb(tolerant, 100, 8)
    for k in (6, 7):  # strokes from corner to corner, joined to the rules
        x = 100 + k * 50
        cv2.line(tolerant, (x, TOP), (x + 50, TOP + HEIGHT), 255, 5)
    (cells,) = combs(Ruling(solid=blank(), tolerant=tolerant))
    assert len(cells) == 8


def test_two_combs_of_separate_boxes_a_cell_apart_stay_two_fields():
    """Blank paper about one cell wide between two combs is no lost cell (zoo dev seed 115:
    an account and an amount comb joined and read as one number)."""
    tolerant = blank()
    separate_boxes(tolerant, 100, 6)
    separate_boxes(tolerant, 100 + 6 * 60 + 44, 5)  # 60 px of paper between them
    found = combs(Ruling(solid=blank(), tolerant=tolerant))
    assert [len(cells) for cells in found] == [6, 5]


def test_a_box_lost_from_a_comb_of_separate_boxes_is_put_back():
    """A box whose hole did not close (its left side worn away) still has its top and bottom
    rules: the comb is one field, with that box among its cells."""
    tolerant = blank()
    separate_boxes(tolerant, 100, 3)
    x = 100 + 3 * 60
    cv2.line(tolerant, (x, TOP), (x + 44, TOP), 255, 3)
    cv2.line(tolerant, (x, TOP + HEIGHT), (x + 44, TOP + HEIGHT), 255, 3)
    cv2.line(tolerant, (x + 44, TOP), (x + 44, TOP + HEIGHT), 255, 3)
    separate_boxes(tolerant, x + 60, 3)
    # Printed black: in the solid ruling as in the tolerant one.
    (cells,) = combs(Ruling(solid=tolerant.copy(), tolerant=tolerant))
    assert len(cells) == 7


def test_a_comb_whose_dividers_marker_digits_took_out_is_one_comb():
    """Marker strokes over a comb's dividers take the dividers out with them: the comb is
    found as cells 4, 3 and 1 digits wide (zoo dev seed 109), and is still one comb of 8."""
    tolerant = blank()
    shared_comb(tolerant, 100, 8)
    lost = [100 + k * 50 for k in (1, 2, 3, 5, 6)]
    tolerant[TOP + 3 : TOP + HEIGHT - 2, :][:, [x + d for x in lost for d in (-2, -1, 0, 1, 2)]] = 0
    (cells,) = combs(Ruling(solid=blank(), tolerant=tolerant))
    assert len(cells) == 8


def test_boxes_side_by_side_two_digits_wide_are_not_a_comb():
    """Boxes sharing borders whose narrowest holds two digits are boxes, not a comb."""
    tolerant = blank()
    cv2.rectangle(tolerant, (100, TOP), (520, TOP + HEIGHT), 255, 3)
    for x in (240, 380):
        cv2.line(tolerant, (x, TOP), (x, TOP + HEIGHT), 255, 3)
    assert combs(Ruling(solid=blank(), tolerant=tolerant)) == []
