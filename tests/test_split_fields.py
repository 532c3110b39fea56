"""Fields that may be one field cut in two are doubted (digitize.split_fields)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from digitize.decision import decide_fields
from digitize.geometry import Box
from digitize.records import ReviewReason
from digitize.segmentation import segment_page
from digitize.split_fields import cut_in_two


def test_pieces_almost_touching_in_a_row_are_both_doubted():
    pieces = [Box(100, 100, 300, 150), Box(310, 102, 420, 151)]
    doubts = cut_in_two(pieces, ["comb", "comb"], [True, True])
    assert all(d is not None and d.reason is ReviewReason.SEGMENTATION for d in doubts)


def test_fields_of_one_row_half_their_height_apart_are_not_doubted():
    apart = [Box(100, 100, 300, 150), Box(325, 100, 420, 150)]
    assert cut_in_two(apart, ["box", "box"], [True, True]) == [None, None]


def test_fields_one_under_another_or_in_a_table_are_not_doubted():
    stacked = [Box(100, 100, 300, 150), Box(100, 155, 300, 205)]
    assert cut_in_two(stacked, ["box", "box"], [True, True]) == [None, None]
    cells = [Box(100, 100, 150, 150), Box(155, 100, 205, 150)]
    assert cut_in_two(cells, ["cell", "cell"], [True, True]) == [None, None]
    # A checkbox beside a box is a question of its own.
    beside = [Box(100, 100, 300, 150), Box(305, 110, 330, 135)]
    assert cut_in_two(beside, ["box", "checkbox"], [True, True]) == [None, None]


def test_ink_beside_a_box_doubts_the_box():
    box_and_ink = [Box(300, 100, 360, 150), Box(200, 104, 292, 148)]
    doubts = cut_in_two(box_and_ink, ["box", "unboxed"], [True, True])
    assert doubts[0] is not None and doubts[1] is not None


def test_an_empty_box_beside_a_number_is_no_piece_of_it():
    pieces = [Box(100, 100, 300, 150), Box(310, 102, 420, 151)]
    assert cut_in_two(pieces, ["box", "box"], [True, False]) == [None, None]


def _two_boxes(gap_mm: float, dpi: int = 200) -> np.ndarray:
    """Two thin boxes 10 mm tall in one row, `gap_mm` apart, a handwritten 7 in each."""
    mm = dpi / 25.4
    image = Image.new("L", (int(120 * mm), int(40 * mm)), 255)
    draw = ImageDraw.Draw(image)
    pen = max(2, round(0.5 * mm))
    left = 10.0
    for _ in range(2):
        draw.rectangle((left * mm, 10 * mm, (left + 30) * mm, 20 * mm), outline=0, width=2)
        draw.line(((left + 12) * mm, 12 * mm, (left + 17) * mm, 12 * mm), 0, pen)
        draw.line(((left + 17) * mm, 12 * mm, (left + 14) * mm, 18 * mm), 0, pen)
        left += 30 + gap_mm
    return np.asarray(image)


def test_a_scan_flags_two_boxes_almost_touching_and_not_two_apart():
    for gap_mm, doubted in ((2.5, True), (8.0, False)):
        segmented = segment_page(_two_boxes(gap_mm), 200)
        assert [f.field.kind for f in segmented.fields] == ["box", "box"]
        probabilities = np.eye(10)[[7] * len(segmented.images)]
        readings = decide_fields(segmented, probabilities, 0.5)
        assert [("segmentation" in r.reasons) for r in readings] == [doubted, doubted]


def test_fields_whose_borders_meet_are_blocks_of_one_table_row():
    blocks = [Box(100, 100, 190, 140), Box(188, 100, 280, 140), Box(280, 100, 370, 140)]
    assert cut_in_two(blocks, ["comb", "comb", "comb"], [True] * 3) == [None, None, None]
