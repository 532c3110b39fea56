"""Handwriting outside every box found is read and flagged `no_box`, never dropped in silence
(digitize.unboxed_ink); print outside the boxes makes no row (digitize.decision)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitize.cleanup import clean_page
from digitize.decision import decide_fields
from digitize.labels import tesseract_missing
from digitize.records import ReviewReason
from digitize.scoring import match_boxes
from digitize.segmentation import segment_page
from digitize.segmentation_params import UnboxedParams
from digitize.unboxed_ink import _light_marks


def page_with(dpi: int, boxed: bool, ink: int = 0) -> np.ndarray:
    """A 1 and a 7 in ballpoint (or, `ink` a light grey, pencil), 8 mm tall, in a thin box or
    with no box at all (its box lost to the scan), and a label in 10 pt black print above."""
    mm = dpi / 25.4
    image = Image.new("L", (int(150 * mm), int(60 * mm)), 255)
    draw = ImageDraw.Draw(image)
    if boxed:
        draw.rectangle(
            (10 * mm, 10 * mm, 60 * mm, 22 * mm), outline=0, width=max(1, round(0.3 * mm))
        )
    pen = max(2, round(0.5 * mm))
    draw.line((29 * mm, 12 * mm, 27.5 * mm, 20 * mm), ink, pen)  # slanted: straight is a rule
    draw.line((35 * mm, 12 * mm, 40 * mm, 12 * mm), ink, pen)
    draw.line((40 * mm, 12 * mm, 37 * mm, 20 * mm), ink, pen)
    draw.text((10 * mm, 5 * mm), "Amount", fill=0, font_size=int(3.4 * mm))
    return np.asarray(image)


@pytest.mark.parametrize("dpi", [150, 300])
def test_digits_whose_box_was_not_found_are_read_and_flagged_no_box(dpi):
    unboxed = segment_page(page_with(dpi, boxed=False), dpi).fields
    assert [f.field.kind for f in unboxed] == ["unboxed"]
    assert ReviewReason.NO_BOX in {d.reason for d in unboxed[0].doubts}
    assert len(unboxed[0].slots) == 2
    # With its box found, the same digits are the box's, and no other field is made.
    boxed = segment_page(page_with(dpi, boxed=True), dpi).fields
    assert [f.field.kind for f in boxed] == ["box"]
    assert len(boxed[0].slots) == 2


def test_ink_outside_the_boxes_that_reads_as_letters_makes_no_row():
    segmented = segment_page(page_with(200, boxed=False), 200)
    probabilities = np.full((len(segmented.images), 10), 0.1)
    rows = len(segmented.images)
    assert rows == 2
    as_digits = decide_fields(segmented, probabilities, 0.99, np.zeros(rows, bool))
    assert [r.kind for r in as_digits] == ["unboxed"]
    assert "no_box" in as_digits[0].reasons
    as_letters = decide_fields(segmented, probabilities, 0.99, np.ones(rows, bool))
    assert as_letters == []


def test_pencil_lighter_than_the_print_with_its_box_lost_is_read_and_flagged():
    """The page's threshold is set by its print, so pencil far lighter than the print is no
    ink there: with its box lost, it made no row at all (fresh zoo page 9058-05, five pencil
    fields in blurred dotted drop-out boxes). Read at its own threshold, it is kept even where
    its broken strokes are called letters: being lighter than the print, it is no title."""
    segmented = segment_page(page_with(300, boxed=False, ink=190), 300)
    unboxed = [f for f in segmented.fields if f.field.kind == "unboxed"]
    assert len(unboxed) == 1 and len(unboxed[0].slots) == 2
    assert {ReviewReason.NO_BOX, ReviewReason.FAINT_INK} <= {d.reason for d in unboxed[0].doubts}
    rows = len(segmented.images)
    as_letters = decide_fields(segmented, np.full((rows, 10), 0.1), 0.99, np.ones(rows, bool))
    assert [r.kind for r in as_letters] == ["unboxed"]


def test_light_marks_are_pencil_not_the_specks_of_a_scanners_noise():
    """Ink lighter than the page's threshold counts outside the boxes only as marks the size
    of a stroke's piece, touching no dark ink: the light specks of a scanner's noise on grey
    paper (tens of thousands a page) made one page's scan 50 times slower when every one
    joined the lines of marks."""
    rng = np.random.default_rng(0)
    pencil = page_with(300, boxed=False, ink=190)
    specks = np.where(rng.random(pencil.shape) < 0.01, 210, 255).astype(np.uint8)
    page = clean_page(np.minimum(pencil, specks), 300)
    light = _light_marks(page, UnboxedParams()) > 0
    strokes = (pencil == 190) & (page.ink == 0)
    assert light[strokes].mean() > 0.9  # the pencil's strokes
    assert light[~cv2.dilate(strokes.astype(np.uint8), np.ones((9, 9))).astype(bool)].sum() == 0


def test_an_unboxed_row_matches_the_truth_box_holding_its_ink():
    truth = np.array([[0.1, 0.1, 0.5, 0.2], [0.1, 0.3, 0.5, 0.4]])
    # An ink box inside the second truth box: IoU 0.19, and yet the same field.
    output = np.array([[0.2, 0.32, 0.35, 0.38]])
    assert match_boxes(truth, output) == {}
    assert match_boxes(truth, output, ink_boxes=np.array([True])) == {1: 0}
    # Ink mostly outside every box matches none.
    outside = np.array([[0.4, 0.35, 0.7, 0.45]])
    assert match_boxes(truth, outside, ink_boxes=np.array([True])) == {}


def test_printed_numbers_outside_the_boxes_make_no_field():
    """A form's number beside its title, a printed year: Tesseract reads them as print, so
    only the handwriting is a field (a title's words are letters: `decision` drops those)."""
    reason = tesseract_missing()
    if reason is not None:
        pytest.skip(reason)
    dpi = 200
    mm = dpi / 25.4
    image = Image.fromarray(page_with(dpi, boxed=False))
    draw = ImageDraw.Draw(image)
    # As large as the zoo's titles (6.5 mm).
    draw.text((10 * mm, 28 * mm), "113-5", fill=0, font_size=int(6.5 * mm))
    draw.text((60 * mm, 42 * mm), "2024", fill=0, font_size=int(6.5 * mm))
    found = segment_page(np.asarray(image), dpi).fields
    assert [(f.field.kind, len(f.slots)) for f in found] == [("unboxed", 2)]


def test_lines_of_handwritten_text_one_under_another_make_no_field():
    """A paragraph written by hand outside the boxes (a NIST form's copied preamble) is text,
    not numbers: lines a line's height apart make no field; one line alone does."""
    dpi = 200
    mm = dpi / 25.4
    image = Image.new("L", (int(150 * mm), int(60 * mm)), 255)
    draw = ImageDraw.Draw(image)
    pen = max(2, round(0.4 * mm))
    for row, top in enumerate((8, 17, 26, 45)):  # three lines 3 mm apart, one 13 mm below
        for k in range(8 if row < 3 else 3):
            x = 10 + 7 * k
            draw.line((x * mm, top * mm, (x + 3) * mm, (top + 6) * mm), 0, pen)
            draw.line(((x + 3) * mm, (top + 6) * mm, (x + 5) * mm, top * mm), 0, pen)
    found = segment_page(np.asarray(image), dpi).fields
    assert [(f.field.kind, f.field.box.y0 > 40 * mm) for f in found] == [("unboxed", True)]
