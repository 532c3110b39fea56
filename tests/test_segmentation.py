"""Fields and digits found on synthetic pages: boxes, combs, tables, labels, broken and
touching digits, specks; and the MNIST-style normalization of a digit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitize.cleanup import clean_page
from digitize.digits import find_digits
from digitize.fields import find_fields
from digitize.normalize import normalize_digit
from digitize.records import ReviewReason
from digitize.ruling import find_ruling
from digitize.segmentation import segment_page
from model_training.mnist import load_split

WHITE = 255


def page(width=1700, height=2200) -> np.ndarray:
    return np.full((height, width), WHITE, np.uint8)


def box(image, x, y, w, h, thickness=3):
    cv2.rectangle(image, (x, y), (x + w, y + h), 0, thickness)


def paste_digit(image, digit: np.ndarray, x, y, height=80):
    """An MNIST digit (white on black), scaled and inked onto the page at (x, y)."""
    scaled = cv2.resize(digit, (height, height), interpolation=cv2.INTER_CUBIC).astype(float)
    region = image[y : y + height, x : x + height].astype(float)
    image[y : y + height, x : x + height] = (region * (1 - np.clip(scaled, 0, 255) / 255)).astype(
        np.uint8
    )


def segment(image):
    clean = clean_page(image)
    fields = find_fields(find_ruling(clean.ink, clean.dpi), clean.dpi)
    return clean, fields, [find_digits(clean, f) for f in fields]


@pytest.fixture(scope="module")
def mnist_test(mnist_dir):
    return load_split(mnist_dir, "test")


def digit_of(mnist_test, label: int, nth: int = 0) -> np.ndarray:
    return mnist_test.images[np.flatnonzero(mnist_test.labels == label)[nth]]


def test_labels_outside_boxes_are_not_fields():
    image = page()
    cv2.putText(image, "Amount due:", (100, 470), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 0, 3)
    label = "ACCOUNT NUMBER (see overleaf) 0 8 B D"
    cv2.putText(image, label, (100, 300), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 0, 4)
    box(image, 450, 400, 500, 120)
    _, fields, _ = segment(image)
    assert len(fields) == 1 and fields[0].kind == "box"


def test_empty_box_with_dust_has_no_digits():
    image = page()
    box(image, 300, 400, 500, 120)
    for x, y in [(400, 450), (600, 480), (700, 430)]:
        cv2.circle(image, (x, y), 2, 0, -1)
    _, fields, digits = segment(image)
    assert len(fields) == 1 and digits[0].slots == []


def test_comb_is_one_field_with_one_digit_per_cell(mnist_test):
    image = page()
    cell, left, top = 110, 200, 600
    for k in range(8):
        box(image, left + k * cell, top, cell, 130)
    for k, label in enumerate([3, 1, 4, 1, 5]):
        paste_digit(image, digit_of(mnist_test, label, k), left + k * cell + 15, top + 25)
    _, fields, digits = segment(image)
    assert len(fields) == 1
    assert fields[0].kind == "comb" and len(fields[0].cells) == 8
    assert len(digits[0].slots) == 5


@pytest.mark.parametrize(("written", "doubted"), [((0, 1, 2, 3), False), ((0, 1, 3), True)])
def test_a_blank_cell_between_written_ones_is_doubted(mnist_test, written, doubted):
    """A digit a scan lost in the middle of a comb would close up the value ("8556" read
    "856"); a run of cells written from the left, with blanks after it, is an ordinary value."""
    image = page()
    cell, left, top = 110, 200, 600
    for k in range(6):
        box(image, left + k * cell, top, cell, 130)
    for k in written:
        paste_digit(image, digit_of(mnist_test, 8, k), left + k * cell + 15, top + 25)
    _, fields, digits = segment(image)
    assert [f.kind for f in fields] == ["comb"]
    assert len(digits[0].slots) == len(written)
    reasons = {d.reason for d in digits[0].doubts}
    assert (ReviewReason.SEGMENTATION in reasons) == doubted


def test_table_cells_are_fields_in_reading_order(mnist_test):
    image = page()
    for row in range(3):
        for column in range(3):
            box(image, 200 + column * 400, 500 + row * 150, 400, 150)
            paste_digit(
                image, digit_of(mnist_test, row * 3 + column), 230 + column * 400, 535 + row * 150
            )
    _, fields, digits = segment(image)
    assert len(fields) == 9
    assert [f.kind for f in fields] == ["cell"] * 9
    centres = [(round(f.box.center_y), round(f.box.center_x)) for f in fields]
    assert centres == sorted(centres)  # row by row, left to right
    assert all(len(d.slots) == 1 for d in digits)


def test_box_borders_never_become_digits(mnist_test):
    image = page()
    box(image, 300, 400, 400, 140, thickness=6)
    paste_digit(image, digit_of(mnist_test, 7), 340, 430)
    _, _, digits = segment(image)
    assert len(digits[0].slots) == 1


def test_a_digit_in_pieces_is_one_digit():
    image = page()
    box(image, 300, 400, 400, 160)
    # A 5 whose top bar was lifted from the body: two components, one digit.
    cv2.line(image, (380, 440), (430, 440), 0, 9)
    cv2.line(image, (370, 452), (368, 485), 0, 9)
    cv2.ellipse(image, (390, 510), (30, 30), 0, -120, 150, 0, 9)
    _, _, digits = segment(image)
    assert len(digits[0].slots) == 1 and not digits[0].slots[0].ambiguous


def test_a_faint_stroke_beside_a_1_is_part_of_it():
    """MNIST has 1s drawn with a second, thinner line beside them; that line is no digit."""
    image = page()
    box(image, 300, 400, 400, 160)
    cv2.line(image, (400, 440), (395, 525), 0, 14)  # the 1
    cv2.line(image, (418, 455), (416, 515), 0, 4)  # a faint, shorter second line
    _, _, digits = segment(image)
    assert [len(slot.options[0]) for slot in digits[0].slots] == [1]
    assert digits[0].doubts  # still shown to a person


def test_11_written_tight_stays_two_digits():
    image = page()
    box(image, 300, 400, 400, 160)
    cv2.line(image, (400, 440), (395, 525), 0, 12)
    cv2.line(image, (422, 442), (418, 527), 0, 12)
    _, _, digits = segment(image)
    assert sum(len(slot.options[0]) for slot in digits[0].slots) == 2


def test_a_digit_in_two_pieces_one_above_the_other_may_be_one(mnist_test):
    """A 6 whose loop came apart from its stem: the pieces overlap in x, so they may be one."""
    image = page()
    box(image, 300, 400, 300, 160)
    cv2.line(image, (440, 440), (415, 478), 0, 8)  # the stem
    cv2.ellipse(image, (418, 508), (22, 16), 0, 0, 360, 0, 8)  # the loop: below, apart, wide
    _, _, digits = segment(image)
    assert sum(min(len(option) for option in slot.options) for slot in digits[0].slots) == 1


def test_touching_digits_may_be_read_as_two(mnist_test):
    image = page()
    box(image, 300, 400, 500, 160)
    paste_digit(image, digit_of(mnist_test, 0), 360, 440, height=90)
    paste_digit(image, digit_of(mnist_test, 0, 1), 405, 440, height=90)  # into its neighbour
    _, _, digits = segment(image)
    options = [len(option) for slot in digits[0].slots for option in slot.options]
    assert 2 in options  # the classifier decides between one wide digit and two


def test_normalized_digit_is_mnist_shaped(mnist_test):
    image = page()
    box(image, 300, 400, 400, 200)
    paste_digit(image, digit_of(mnist_test, 2), 350, 440, height=140)
    clean, _, digits = segment(image)
    normalized = normalize_digit(clean.gray, digits[0].slots[0].options[0][0])
    assert normalized.shape == (28, 28) and normalized.dtype == np.uint8
    rows, columns = np.flatnonzero(normalized.max(1) > 30), np.flatnonzero(normalized.max(0) > 30)
    assert max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1 <= 22  # fits 20x20 (+ rim)
    ys, xs = np.indices(normalized.shape)
    mass = normalized.astype(float).sum()
    assert abs((ys * normalized).sum() / mass - 14) < 0.7
    assert abs((xs * normalized).sum() / mass - 14) < 0.7
    assert normalized[0].max() == 0 and normalized[:, 0].max() == 0  # white on black


def test_skewed_page_is_straightened():
    image = page()
    box(image, 300, 400, 900, 120)
    box(image, 300, 700, 900, 120)
    rotation = cv2.getRotationMatrix2D((850, 1100), 2.0, 1.0)
    skewed = cv2.warpAffine(image, rotation, (1700, 2200), borderValue=WHITE)
    clean = clean_page(skewed)
    recovered = np.degrees(np.arctan2(clean.rotation[1, 0], clean.rotation[0, 0]))
    assert recovered == pytest.approx(2.0, abs=0.15)


def test_comb_with_a_cell_hidden_by_ink_stays_one_field(mnist_test):
    image = page()
    cell, left, top = 110, 200, 600
    for k in range(8):
        box(image, left + k * cell, top, cell, 130)
    # Ink over a corner of cell 4: its hole is no longer a rectangle, so it is not found.
    corner = left + 4 * cell
    cv2.fillPoly(image, [np.array([[corner, top], [corner + 70, top], [corner, top + 90]])], 0)
    _, fields, _ = segment(image)
    assert len(fields) == 1 and fields[0].kind == "comb" and len(fields[0].cells) == 8


@pytest.mark.parametrize("broken", ["first", "last", "two in the middle"])
def test_comb_cells_whose_rule_broke_in_the_scan_are_kept(mnist_test, broken):
    """A faintly printed rule breaks up: a cell's hole does not close, but the comb's top and
    bottom rules run on over it to the comb's end, so the cell is still the comb's."""
    image = page()
    cell, left, top = 110, 200, 600
    for k in range(8):
        box(image, left + k * cell, top, cell, 130)
    for k, label in enumerate([3, 1, 4, 1, 5, 9, 2, 6]):
        paste_digit(image, digit_of(mnist_test, label, k), left + k * cell + 15, top + 25)
    gaps = {"first": [0], "last": [7], "two in the middle": [3, 4]}[broken]
    for k in gaps:  # a gap in the top rule, and for the inner cells a divider gone as well
        x = left + k * cell
        image[top - 3 : top + 4, x + 40 : x + 60] = WHITE
        if broken == "two in the middle":
            image[top + 4 : top + 127, x + cell - 3 : x + cell + 4] = WHITE
    _, fields, digits = segment(image)
    assert len(fields) == 1 and fields[0].kind == "comb" and len(fields[0].cells) == 8
    assert len(digits[0].slots) == 8


def test_combs_on_one_line_with_a_label_between_stay_apart():
    image = page()
    cell, top = 110, 600
    for left in (200, 900):
        for k in range(4):
            box(image, left + k * cell, top, cell, 130)
    cv2.putText(image, "Ext", (680, top + 90), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 0, 6)
    _, fields, _ = segment(image)
    assert [(f.kind, len(f.cells)) for f in fields] == [("comb", 4), ("comb", 4)]


def test_a_comb_printed_with_thin_doubled_dividers_is_empty_when_nothing_is_written():
    """Scanned print: each divider two hairlines that wander by a pixel. Neither is a digit."""
    image = page()
    cell, left, top, height = 110, 200, 600, 130
    cv2.rectangle(image, (left, top), (left + 8 * cell, top + height), 0, 3)
    rng = np.random.default_rng(0)
    for k in range(1, 8):
        for offset in (-2, 2):
            x = left + k * cell + offset
            for y in range(top, top + height, 6):  # 6-pixel pieces, each a pixel off or not
                image[y : y + 6, x + rng.integers(0, 2)] = 0
    _, fields, digits = segment(image)
    assert len(fields) == 1 and fields[0].kind == "comb" and len(fields[0].cells) == 8
    assert digits[0].slots == []


@pytest.mark.parametrize("dpi", [150, 300])
def test_a_marker_s_digits_written_across_a_box_leave_it_one_box(dpi):
    """Strokes as thick as a marker's are as long as a comb's dividers: as ruling, digits
    touching both rules would cut the box into pieces that are no box."""
    scale = dpi / 150
    image = page(int(1240 * scale), int(1754 * scale))
    x, y, w, h = (int(v * scale) for v in (200, 400, 300, 44))
    box(image, x, y, w, h, thickness=2)
    text_at = (x + int(40 * scale), y + h + int(3 * scale))  # the strokes cross both rules
    cv2.putText(image, "5389", text_at, cv2.FONT_HERSHEY_SIMPLEX, 2.1 * scale, 0, int(9 * scale))
    clean = clean_page(image, dpi)
    fields = find_fields(find_ruling(clean.ink, clean.dpi, print_ink=clean.print_ink), clean.dpi)
    assert [(f.kind, len(find_digits(clean, f).slots)) for f in fields] == [("box", 4)]


def broken_zero(image, x, y, gap):
    """A 0, 50 wide and 90 tall at (x, y), whose top and bottom halves came apart by `gap`."""
    cv2.ellipse(image, (x + 25, y + 45), (22, 42), 0, 180, 360, 0, 7)
    cv2.ellipse(image, (x + 25, y + 45 + gap), (22, 42), 0, 0, 180, 0, 7)


def test_digits_in_pieces_at_the_end_of_a_box_are_not_taken_for_print():
    """Pencil and bi-level scans break digits into pieces. Each piece is short, but a stretch
    of pieces one above the other is a whole digit's height: not a printed unit right of the
    value, which would be left out (zoo dev: "53166" read "531")."""
    image = page()
    box(image, 300, 400, 700, 160)
    for x in (335, 435, 535):
        cv2.ellipse(image, (x + 25, 480), (22, 42), 0, 0, 360, 0, 7)
    for x in (675, 775):
        broken_zero(image, x, 430, gap=12)
    _, _, digits = segment(image)
    assert len(digits[0].slots) == 5


def test_pencil_far_lighter_than_a_printed_prefix_is_read():
    """Where the page's threshold (set by black print) reads only each box's printed prefix,
    that print is not the page's handwriting: the light pencil beside it is read by the box's
    own threshold and flagged faint_ink (zoo dev 109: a whole page read as "No")."""
    image = page()
    for row in range(3):
        top = 400 + 300 * row
        box(image, 300, top, 900, 130)
        cv2.putText(image, "No.", (318, top + 80), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 0, 3)
        cv2.putText(image, "7394", (520, top + 100), cv2.FONT_HERSHEY_SIMPLEX, 2.6, 180, 7)
    segmented = segment_page(image, 200)
    assert [len(f.slots) for f in segmented.fields] == [4, 4, 4]
    assert all(ReviewReason.FAINT_INK in {d.reason for d in f.doubts} for f in segmented.fields)


def test_a_prefix_found_at_the_pages_threshold_stays_print_when_pencil_is_read_again():
    """Pencil beside a printed "+44" is read again at the box's own threshold; the print
    found at the page's threshold stays print there (read at the lower threshold, blurred
    print joins into one blob as close to the number as a digit: zoo dev phone numbers read
    with a leading 4), and print found is no ink left over (every prefix field said so)."""
    image = page()
    for row in range(3):
        top = 400 + 300 * row
        box(image, 300, top, 900, 130)
        x = 318
        for mark in "+44":  # set tight
            cv2.putText(image, mark, (x, top + 90), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 0, 3)
            x += cv2.getTextSize(mark, cv2.FONT_HERSHEY_SIMPLEX, 1.3, 3)[0][0]
        cv2.putText(image, "7394", (x + 30, top + 105), cv2.FONT_HERSHEY_SIMPLEX, 2.8, 185, 7)
        inner = (slice(top + 5, top + 125), slice(305, 1195))
        image[inner] = cv2.GaussianBlur(image, (5, 5), 0)[inner]  # a soft scan of the print
    segmented = segment_page(image, 200)
    assert [len(f.slots) for f in segmented.fields] == [4, 4, 4]
    for found in segmented.fields:
        reasons = {d.reason for d in found.doubts}
        assert {ReviewReason.NOT_DIGITS, ReviewReason.FAINT_INK} <= reasons
        assert ReviewReason.INK_LEFT_OVER not in reasons


def test_a_printed_prefix_set_close_to_the_handwriting_is_not_read():
    """Print is set tight, then a space: "+44" a third of a digit's height from the number is
    still print, all three of its marks (the 0.4 gap alone kept its second 4 as a digit)."""
    image = page()
    box(image, 300, 400, 900, 130)
    x = 318
    for mark in "+44":  # each its own mark, 6 px apart, half the digits' height
        cv2.putText(image, mark, (x, 490), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 0, 3)
        x += cv2.getTextSize(mark, cv2.FONT_HERSHEY_SIMPLEX, 1.3, 3)[0][0] + 6
    cv2.putText(image, "5994", (x + 8, 505), cv2.FONT_HERSHEY_SIMPLEX, 2.8, 0, 7)  # 0.33 apart
    _, fields, found = segment(image)
    assert len(fields) == 1
    assert len(found[0].slots) == 4
    assert ReviewReason.NOT_DIGITS in {d.reason for d in found[0].doubts}


def test_print_alone_in_a_box_is_no_digits_but_small_handwriting_is(mnist_test):
    """Marks Tesseract reads as print ("+44", "kg") make an empty value, flagged; small
    handwritten digits at a box's end, read as digits, are flagged as maybe print."""
    image = page()
    for row, text in enumerate(("+44", "kg")):
        box(image, 300, 300 + 250 * row, 900, 130)
        cv2.putText(image, text, (318, 390 + 250 * row), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 0, 3)
    for row, label in enumerate((5, 2), start=2):
        box(image, 300, 300 + 250 * row, 900, 130)
        paste_digit(image, digit_of(mnist_test, label), 310, 330 + 250 * row, height=60)
    fields = segment_page(image, 200).fields
    assert [len(f.slots) for f in fields] == [0, 0, 1, 1]
    assert all(ReviewReason.NOT_DIGITS in {d.reason for d in f.doubts} for f in fields)
    assert "printed '+44'" in fields[0].doubts[-1].detail
