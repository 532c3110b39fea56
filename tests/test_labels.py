"""Printed labels (digitize.labels): left of a field, above it, a table's row and column, a
checkbox's question and answer; handwriting never read as one; without Tesseract, empty labels
and one line saying why."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitize import ocr
from digitize.geometry import Box
from digitize.labels import (
    DEFAULT_PARAMS,
    MISSING,
    clean_label,
    find_glyphs,
    read_labels,
    tesseract_missing,
)
from digitize.pages import Page
from digitize.reading import PageReading, read_page

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
import zoo

from fakes import FakeClassifier

DPI = 200  # 7.9 pixels a millimetre
SIZE = (1700, 2200)  # US letter
TYPE_PX = 27  # 3.4 mm: the zoo's and the samples' labels (about 10 pt)


def font(size: int = TYPE_PX, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf", size)
    except OSError:  # no DejaVu here: Pillow's own (only the look changes)
        return ImageFont.load_default(size)


class Form:
    """A page being drawn: printed boxes and labels, and the label each box should get."""

    def __init__(self) -> None:
        self.image = Image.new("L", SIZE, 255)
        self.draw = ImageDraw.Draw(self.image)
        self.expected: dict[tuple[int, int, int, int], str] = {}

    def box(self, x0: int, y0: int, x1: int, y1: int, label: str = "") -> None:
        self.rule(x0, y0, x1, y1)
        self.expected[(x0, y0, x1, y1)] = label

    def rule(self, x0: int, y0: int, x1: int, y1: int) -> None:
        self.draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=0, width=3)

    def text(self, x: int, y: int, text: str, anchor: str, size: int = TYPE_PX) -> None:
        self.draw.text((x, y), text, font=font(size, bold=size > TYPE_PX), fill=0, anchor=anchor)

    def read(self) -> PageReading:
        page = Page("synthetic", 1, np.asarray(self.image), float(DPI))
        return read_page(page, FakeClassifier())

    def label_of(self, box: Box) -> str:
        """The label drawn for the field found at `box`."""
        (label,) = [
            label
            for (x0, y0, x1, y1), label in self.expected.items()
            if x0 <= box.center_x <= x1 and y0 <= box.center_y <= y1
        ]
        return label


def labelled_form() -> Form:
    """Every place a label can be, and a box with none."""
    form = Form()
    form.box(450, 250, 850, 340, "Invoice no.")
    form.text(430, 295, "Invoice no.", "rm")  # left, on the box's line
    form.box(1000, 250, 1450, 340, "Order ref.")
    form.text(1000, 236, "Order ref.", "ls")  # above, 1.8 mm over the box
    for k in range(8):  # a comb, guide letters over its cells, its label over them
        form.rule(900 + 55 * k, 470, 958 + 55 * k, 550)
        form.text(929 + 55 * k, 462, "DDMMYYYY"[k], "ms", size=17)
    form.expected[(900, 470, 1343, 550)] = "Date of birth"
    form.text(900, 430, "Date of birth", "ls")
    columns, rows = [700, 880, 1090, 1330], [750, 840, 930]
    headers, items = ["Qty", "Unit price", "Total"], ["Sandpaper P120", "Wood glue"]
    for r, item in enumerate(items):  # a table: its headers over it, its items far left of it
        form.text(150, (rows[r] + rows[r + 1]) // 2, item, "lm")
        for c, header in enumerate(headers):
            form.box(columns[c], rows[r], columns[c + 1] + 3, rows[r + 1] + 3, f"{item} / {header}")
    for c, header in enumerate(headers):
        form.text(columns[c] + 8, rows[0] - 14, header, "ls", size=TYPE_PX + 1)
    form.text(430, 1150, "Paid?", "rm")  # a question, then each checkbox and its answer
    for k, answer in enumerate(["Yes", "No"]):
        form.box(450 + 200 * k, 1132, 486 + 200 * k, 1168, f"Paid? / {answer}")
        form.text(498 + 200 * k, 1150, answer, "lm")
    # A row whose first checkbox is not found (3.3 mm, its top rule broken): passed over, with
    # its answer.
    form.text(1000, 1150, "Method", "rm")
    form.rule(1020, 1137, 1046, 1163)
    form.draw.rectangle((1031, 1137, 1033, 1139), fill=255)
    form.text(1058, 1150, "Cash", "lm")
    form.box(1160, 1132, 1196, 1168, "Method / Card")
    form.text(1208, 1150, "Card", "lm")
    form.box(1000, 1300, 1300, 1390)  # nothing printed near it
    return form


@pytest.fixture(scope="module")
def tesseract() -> None:
    reason = tesseract_missing()
    if reason is not None:
        pytest.fail(f"{reason}: the README's install commands install it")


@pytest.fixture(scope="module")
def labelled(tesseract) -> tuple[Form, PageReading]:
    form = labelled_form()
    return form, form.read()


def test_labels_left_above_in_a_table_and_by_a_checkbox_are_read_as_printed(labelled):
    form, reading = labelled
    kinds = [found.kind for found in reading.fields]
    assert kinds.count("cell") == 6 and kinds.count("checkbox") == 3 and "comb" in kinds
    assert len(reading.fields) == 13
    assert read_labels(reading) == [form.label_of(found.outer) for found in reading.fields]


def test_a_page_is_read_by_one_tesseract_call_over_its_labels_alone(labelled, monkeypatch):
    _, reading = labelled
    sheets = []
    real = ocr.read_words

    def counted(image, timeout_s):
        sheets.append(image)
        return real(image, timeout_s)

    monkeypatch.setattr(ocr, "read_words", counted)
    read_labels(reading)
    assert len(sheets) == 1
    # Eleven phrases (a row's item, a column's header read once), not the page.
    assert sheets[0].size < 0.1 * SIZE[0] * SIZE[1]


def test_handwriting_in_a_box_or_running_out_of_it_is_never_a_label(tesseract):
    form = Form()
    form.box(150, 450, 650, 540, "Surname")
    form.text(150, 436, "Surname", "ls")
    form.text(425, 470, "Total 42", "la", size=50)  # written in the box, in letters
    form.box(900, 250, 1300, 340, "Amount")
    form.text(880, 295, "Amount", "rm")
    form.text(950, 270, "17", "la", size=50)
    # Nothing printed near it; over its left end, the writing in the box up left of it.
    form.box(660, 570, 1000, 660, "")
    # A 7 whose stroke runs up out of its box, nearer the box than its label over it.
    form.box(1100, 800, 1500, 890, "Weight")
    form.text(1100, 750, "Weight", "ls")
    form.draw.line([(1300, 772), (1360, 772), (1310, 870)], fill=0, width=7)
    reading = form.read()
    assert read_labels(reading) == [form.label_of(found.outer) for found in reading.fields]
    glyphs = find_glyphs(
        reading.segmented.page, [found.outer for found in reading.fields], DEFAULT_PARAMS
    )
    x0, y0, x1, y1 = glyphs.boxes.T
    for found in reading.fields:  # no print kept for a label touches a field
        b = found.outer
        assert not np.any((x0 < b.x1) & (x1 > b.x0) & (y0 < b.y1) & (y1 > b.y0))


def test_without_tesseract_labels_are_empty_and_one_line_says_why(
    labelled, monkeypatch, tmp_path: Path
):
    _, reading = labelled
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # no English model there
    assert tesseract_missing() == MISSING
    assert "\n" not in MISSING and "tesseract-ocr" in MISSING
    assert read_labels(reading) == [""] * len(reading.fields)


def test_a_page_without_fields_asks_tesseract_nothing(monkeypatch):
    blank = Page("blank", 1, np.full((SIZE[1], SIZE[0]), 255, np.uint8), float(DPI))
    reading = read_page(blank, FakeClassifier())
    monkeypatch.setattr(ocr, "read_words", None)  # a call would fail
    assert read_labels(reading) == []


@pytest.mark.parametrize(
    ("read", "label"),
    [
        ("Amount:", "Amount"),
        ("| Order  no.", "Order no."),
        ("Paid?", "Paid?"),
        ("— Temp. °C _", "Temp. °C"),
        ("Phone (optional) :", "Phone (optional)"),
        ("Größe€", "Größe€"),
        ("~|_", ""),
    ],
)
def test_tesseract_words_are_cleaned_into_a_label(read, label):
    assert clean_label(read) == label


def test_the_zoo_truth_names_every_field_by_the_label_printed_for_it(tmp_path: Path):
    rows = zoo.generate_zoo(tmp_path, seed=101, forms=12, images=False)  # layouts only
    assert zoo.TRUTH_COLUMNS[-1] == "label"
    names = {
        name for purpose, names in zoo.LABELS.items() if purpose != "checkbox" for name in names
    }
    answers = {answer for row in zoo.CHECK_LABELS for answer in row}
    for row in rows:
        if row["kind"] == "checkbox":  # "Paid? / Yes": its row's question, its own answer
            question, answer = str(row["label"]).split(" / ")
            assert question in zoo.LABELS["checkbox"] and answer in answers
        else:
            assert row["label"] in names
