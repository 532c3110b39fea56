"""Make the sample forms in samples/forms and their ground truth, samples/truth.csv.

Each form is laid out in millimetres (printed title, labels, text, boxes, combs and table
grids), filled in with handwritten digits taken from the MNIST *test* split (t10k), and then
"scanned": rotated slightly, lit unevenly, blurred, given sensor noise and dust, and saved as
PDF, PNG, JPEG or TIFF. Everything random comes from one seed, so a rerun writes the same
truth.csv (and, with the same library versions, the same image files).

    python samples/generate.py [--mnist-dir DIR] [--out samples] [--seed 2024]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script, the repo root is not on the path
    sys.path.insert(0, str(REPO_ROOT))

from model_training.mnist import ENV_VAR, MnistError, load_split  # noqa: E402

SEED = 2024
TRUTH_COLUMNS = ["file", "page", "field", "value", "x0", "y0", "x1", "y1"]
MM_PER_INCH = 25.4
A4 = (210.0, 297.0)
LETTER = (215.9, 279.4)
LINE_MM = 0.3  # printed border width
# Each form draws its digits from its own slice of a seeded shuffle of each class, so forms
# never share a digit image and one form can be regenerated without the others.
DIGITS_PER_CLASS_PER_FORM = 80
# A fixed date in the PDF info, so the PDFs are byte-for-byte reproducible.
PDF_DATE = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC).timetuple()


# ----------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Rect:
    """A rectangle in millimetres from the page's top-left corner."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class FormField:
    box: Rect  # outer border of the printed box; for a comb, of the whole comb
    value: str  # the digits written ("" for an empty box)
    cells: int = 0  # 0: a plain box; n: a comb of n one-digit cells
    right_aligned: bool = False  # a comb filled from its last cell (amounts)


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: float = 3.4  # em size in mm (3.4 mm is about 10 pt)
    bold: bool = False
    anchor: str = "ls"  # Pillow text anchor: "ls" left-baseline, "rm" right-middle, ...


@dataclass
class Sheet:
    """One page being laid out: what is printed on it and what is written into its boxes."""

    size: tuple[float, float] = A4
    fields: list[FormField] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    rules: list[Rect] = field(default_factory=list)  # printed solid lines
    shades: list[Rect] = field(default_factory=list)  # light printed bands

    def title(self, text: str, y: float = 24) -> None:
        self.texts.append(Text(18, y, text, size=7, bold=True))

    def text(self, x: float, y: float, text: str, size: float = 3.2, bold: bool = False) -> None:
        self.texts.append(Text(x, y, text, size=size, bold=bold))

    def rule(self, y: float, x0: float = 18, x1: float | None = None) -> None:
        x1 = self.size[0] - 18 if x1 is None else x1
        self.rules.append(Rect(x0, y, x1, y + 0.5))

    def band(self, y: float, text: str) -> None:
        """A shaded section heading across the page."""
        self.shades.append(Rect(18, y, self.size[0] - 18, y + 7))
        self.texts.append(Text(20, y + 3.5, text, size=3.6, bold=True, anchor="lm"))

    def box(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        value: str,
        label: str = "",
        above: bool = False,
    ) -> None:
        check_value(value)
        self.fields.append(FormField(Rect(x, y, x + w, y + h), value))
        self._label(x, y, h, label, above)

    def comb(
        self,
        x: float,
        y: float,
        cells: int,
        value: str,
        label: str = "",
        above: bool = False,
        cell_w: float = 7,
        h: float = 10,
        right_aligned: bool = False,
    ) -> None:
        check_value(value)
        if len(value) > cells:
            raise ValueError(f"layout: {value!r} does not fit a comb of {cells} cells")
        box = Rect(x, y, x + cells * cell_w, y + h)
        self.fields.append(FormField(box, value, cells, right_aligned))
        self._label(x, y, h, label, above)

    def table(
        self,
        x: float,
        y: float,
        widths: Sequence[float],
        row_h: float,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        row_labels: Sequence[str] = (),
    ) -> None:
        """A grid whose every cell is a field; headings above it, row labels left of it."""
        lefts = [x + sum(widths[:k]) for k in range(len(widths) + 1)]
        for k, header in enumerate(headers):
            self.texts.append(Text(lefts[k] + 1, y - 2, header, size=3.2, bold=True))
        for r, values in enumerate(rows):
            top = y + r * row_h
            if r < len(row_labels):
                self.texts.append(Text(18, top + row_h / 2, row_labels[r], anchor="lm"))
            for k, value in enumerate(values):
                check_value(value)
                # Neighbouring cells share one printed border, so their boxes overlap by it.
                box = Rect(lefts[k], top, lefts[k + 1] + LINE_MM, top + row_h + LINE_MM)
                self.fields.append(FormField(box, value))

    def _label(self, x: float, y: float, h: float, label: str, above: bool) -> None:
        if not label:
            return
        if above:
            self.texts.append(Text(x, y - 1.8, label))
        else:
            self.texts.append(Text(x - 2.5, y + h / 2, label, anchor="rm"))


# ----------------------------------------------------------------------------- values


def check_value(value: str) -> None:
    """Values are what truth.csv promises: empty, or 1 to 10 digits."""
    if not (value == "" or (value.isdigit() and value.isascii() and len(value) <= 10)):
        raise ValueError(f"layout: {value!r} is not a value of 1 to 10 digits")


def digits(rng: np.random.Generator, low: int, high: int, leading_zero: bool = False) -> str:
    """A random digit string of length low..high."""
    length = int(rng.integers(low, high + 1))
    text = "".join(str(d) for d in rng.integers(0, 10, length))
    if not leading_zero and text[0] == "0":
        text = str(int(rng.integers(1, 10))) + text[1:]
    return text


def number(rng: np.random.Generator, low: int, high: int) -> str:
    return str(int(rng.integers(low, high + 1)))


def date(rng: np.random.Generator) -> str:
    """DDMMYYYY, as written in an 8-cell date comb."""
    day = datetime.date(2019, 1, 1) + datetime.timedelta(days=int(rng.integers(0, 7 * 365)))
    return day.strftime("%d%m%Y")


def maybe(rng: np.random.Generator, value: str, empty: float = 0.12) -> str:
    """The value, or an empty box with probability `empty`."""
    return "" if rng.random() < empty else value


# ----------------------------------------------------------------------------- forms


def invoice(rng: np.random.Generator) -> list[Sheet]:
    first = Sheet()
    first.title("INVOICE")
    first.text(18, 32, "Northwind Office Supplies Ltd  ·  14 Harbour Road  ·  Leeds LS1 4AB")
    first.rule(36)
    first.box(52, 46, 42, 11, digits(rng, 5, 6), label="Invoice no.")
    first.comb(134, 46, 8, date(rng), label="Date", h=11)
    first.comb(18, 76, 10, digits(rng, 7, 10), label="Customer account", above=True)
    first.box(110, 75, 50, 11, maybe(rng, digits(rng, 4, 6)), label="Order ref.", above=True)
    first.text(18, 100, "Items delivered", size=3.8, bold=True)
    items = [
        "Copier paper A4, 5 reams",
        "Toner cartridge",
        "Lever arch files",
        "Ballpoint pens",
        "Desk organiser",
    ]
    rows = []
    for r in range(len(items)):
        quantity, price = int(rng.integers(1, 25)), int(rng.integers(150, 9000))
        row = [str(quantity), str(price), str(quantity * price)]
        rows.append(row if r < 4 else ["", "", ""])  # the last line of the order is unused
    first.table(92, 112, [22, 36, 40], 10, ["Qty", "Unit price", "Amount"], rows, items)
    first.text(18, 180, "Prices in pence. Payment due within 30 days of the invoice date.")
    first.text(18, 186, "Please quote the invoice number with your payment.")

    second = Sheet()
    second.title("INVOICE  –  payment details")
    second.text(18, 32, "Please pay the total to the account below and keep this page.")
    second.rule(36)
    for k, label in enumerate(["Subtotal", "VAT", "Total"]):
        second.box(120, 46 + k * 17, 70, 11, digits(rng, 4, 6), label=label)
    second.comb(18, 110, 10, digits(rng, 8, 8), label="Bank account number", above=True)
    second.comb(134, 110, 8, digits(rng, 6, 6), label="Sort code", above=True)
    second.comb(18, 140, 8, date(rng), label="Payment date", above=True)
    second.box(
        110, 140, 80, 10, maybe(rng, digits(rng, 6, 8)), label="Payment reference", above=True
    )
    second.box(62, 170, 28, 11, maybe(rng, number(rng, 1, 40)), label="Cartons received")
    second.box(150, 170, 28, 11, maybe(rng, number(rng, 1, 9)), label="Pallets")
    second.text(18, 200, "Goods remain our property until paid for in full.")
    return [first, second]


def tax_return(rng: np.random.Generator) -> list[Sheet]:
    sheet = Sheet()
    sheet.title("Tax return 2023")
    sheet.text(18, 33, "Use black ink. Write one digit in each box; leave unused boxes empty.")
    sheet.band(40, "Section 1  –  About you")
    sheet.comb(18, 60, 10, digits(rng, 10, 10), label="Tax reference", above=True, cell_w=6.5)
    sheet.comb(120, 60, 8, date(rng), label="Date of birth", above=True, cell_w=6.5)
    sheet.comb(18, 86, 5, digits(rng, 5, 5), label="Postcode", above=True, cell_w=6.5)
    sheet.comb(70, 86, 11, "0" + digits(rng, 8, 9), label="Phone number", above=True, cell_w=6.5)
    sheet.band(104, "Section 2  –  Income (whole pounds)")
    amounts = [
        ("Pay from employment", 4, 6),
        ("Tax taken off", 3, 5),
        ("Benefits", 3, 4),
        ("Interest", 1, 3),
    ]
    for k, (label, low, high) in enumerate(amounts):
        sheet.comb(
            128,
            116 + k * 15,
            8,
            maybe(rng, digits(rng, low, high), 0.2),
            label=label,
            cell_w=6.5,
            right_aligned=True,
        )
    sheet.band(180, "Section 3  –  Repayment")
    sheet.comb(18, 200, 8, digits(rng, 8, 8), label="Account number", above=True, cell_w=6.5)
    sheet.comb(100, 200, 6, digits(rng, 6, 6), label="Sort code", above=True, cell_w=6.5)
    sheet.box(100, 222, 20, 11, maybe(rng, number(rng, 0, 4)), label="Number of dependants")
    sheet.comb(18, 254, 8, date(rng), label="Date signed", above=True, cell_w=6.5)
    sheet.text(100, 262, "Signature ______________________")
    return [sheet]


def meter_readings(rng: np.random.Generator) -> list[Sheet]:
    sheet = Sheet()
    sheet.title("Meter reading card")
    sheet.text(18, 33, "Write every digit shown on the meter, leading zeros included.")
    sheet.comb(18, 46, 9, digits(rng, 7, 9), label="Customer number", above=True)
    meters = [
        "Electricity, day",
        "Electricity, night",
        "Gas",
        "Water, main",
        "Water, garden",
        "Heat meter",
        "Solar generation",
        "Car charger",
        "Flat 2 electricity",
        "Flat 2 gas",
        "Boiler hours",
    ]
    for k, label in enumerate(meters):
        sheet.box(
            90, 66 + k * 17, 62, 12, maybe(rng, digits(rng, 5, 7, leading_zero=True)), label=label
        )
    sheet.comb(18, 262, 8, date(rng), label="Date of reading", above=True)
    return [sheet]


def purchase_order(rng: np.random.Generator) -> list[Sheet]:
    def order_rows(count: int, used: int) -> list[list[str]]:
        rows = []
        for r in range(count):
            row = [digits(rng, 6, 6), number(rng, 1, 60), number(rng, 95, 45000)]
            rows.append(row if r < used else ["", "", ""])
        return rows

    first = Sheet(LETTER)
    first.title("Purchase order")
    first.text(18, 33, "Harbour Engineering  ·  Purchasing department  ·  Unit 7, Mill Lane")
    first.box(48, 44, 40, 11, digits(rng, 4, 5), label="Supplier no.")
    first.box(148, 44, 48, 11, digits(rng, 6, 7), label="PO number")
    first.text(18, 75, "Order lines", size=3.8, bold=True)
    first.table(
        36,
        88,
        [54, 26, 48],
        11,
        ["Item code", "Qty", "Unit price"],
        order_rows(6, 6),
        [f"{r + 1}." for r in range(6)],
    )
    first.text(18, 170, "Unit prices in cents, excluding tax. Continue overleaf.")

    second = Sheet(LETTER)
    second.title("Purchase order (continued)")
    second.table(
        36,
        50,
        [54, 26, 48],
        11,
        ["Item code", "Qty", "Unit price"],
        order_rows(4, 2),
        [f"{r + 7}." for r in range(4)],
    )
    second.box(124, 112, 56, 11, digits(rng, 5, 7), label="Order total")
    second.comb(40, 140, 6, digits(rng, 6, 6), label="Approved by (staff no.)", above=True)
    second.comb(124, 140, 8, date(rng), label="Approval date", above=True)
    second.text(18, 175, "Deliver to goods-in between 8:00 and 16:00, Monday to Friday.")
    return [first, second]


def delivery_note(rng: np.random.Generator) -> list[Sheet]:
    sheet = Sheet()
    sheet.title("Delivery note")
    sheet.text(18, 33, "Customer copy  ·  keep with your goods")
    sheet.rule(37)
    sheet.box(50, 46, 44, 11, digits(rng, 6, 7), label="Delivery no.")
    sheet.comb(134, 46, 8, date(rng), label="Date", h=11)
    sheet.box(50, 66, 44, 11, digits(rng, 5, 6), label="Customer no.")
    sheet.box(150, 66, 40, 11, digits(rng, 4, 4), label="Driver ID")
    sheet.comb(50, 88, 11, "0" + digits(rng, 9, 9), label="Phone")
    sheet.text(18, 116, "Goods", size=3.8, bold=True)
    goods = [
        ("Cartons", 1, 300),
        ("Pallets", 1, 24),
        ("Gross weight kg", 40, 18000),
        ("Net weight kg", 35, 16000),
    ]
    for k, (label, low, high) in enumerate(goods):
        x, y = (50, 124 + (k // 2) * 18) if k % 2 == 0 else (150, 124 + (k // 2) * 18)
        sheet.box(x, y, 40, 11, maybe(rng, number(rng, low, high)), label=label)
    sheet.box(50, 172, 56, 11, digits(rng, 7, 8), label="Seal number")
    sheet.box(150, 172, 22, 11, maybe(rng, number(rng, 2, 8), 0.3), label="Temp. °C")
    sheet.text(18, 205, "Received in good condition. Signature ____________________")
    return [sheet]


def survey(rng: np.random.Generator) -> list[Sheet]:
    questions = [  # (question, smallest answer, largest answer), one list per page
        [
            ("How many people live in your household?", 1, 9),
            ("How many of them are under 16?", 0, 5),
            ("In what year did you move to this address?", 1965, 2023),
            ("How many rooms does your home have?", 1, 12),
            ("How many cars or vans does your household own?", 0, 4),
            ("How many bicycles does your household own?", 0, 8),
            ("Distance to your work or school, in metres?", 200, 65000),
            ("Minutes to travel there, one way?", 3, 120),
        ],
        [
            ("How many days a week do you work from home?", 0, 5),
            ("Monthly rent or mortgage, in euros?", 350, 3200),
            ("Yearly electricity use, in kWh?", 900, 12000),
            ("Yearly water use, in litres?", 20000, 250000),
            ("Number of library visits last year?", 0, 60),
            ("Household income last year, in euros?", 9000, 240000),
        ],
        [
            ("Minutes of sport a week?", 0, 900),
            ("Books read in the last 12 months?", 0, 80),
            ("Year of birth of the oldest resident?", 1925, 2005),
            ("Weekly food spending, in cents?", 2500, 60000),
            ("Kilometres driven last year?", 0, 45000),
        ],
    ]
    pages = []
    for page, page_questions in enumerate(questions):
        sheet = Sheet()
        sheet.title(f"Household survey  ·  page {page + 1} of 3", y=22)
        if page == 0:
            sheet.comb(18, 40, 8, digits(rng, 8, 8), label="Respondent ID", above=True)
            sheet.comb(120, 40, 8, date(rng), label="Date of interview", above=True)
            top = 66
        else:
            sheet.text(
                18, 34, "Answer in whole numbers. Leave a box empty if you prefer not to answer."
            )
            top = 46
        first_number = sum(map(len, questions[:page])) + 1
        for k, (question, low, high) in enumerate(page_questions):
            y = top + k * 18
            sheet.text(18, y + 7.5, f"{first_number + k}.  {question}")
            sheet.box(148, y, 42, 11, maybe(rng, number(rng, low, high), 0.15))
        if page == 1:
            y = top + len(page_questions) * 18 + 6
            sheet.text(18, y, "Household members by age group", size=3.6, bold=True)
            for k, label in enumerate(["0–15", "16–64", "65+"]):
                sheet.box(40 + k * 55, y + 8, 22, 11, maybe(rng, number(rng, 0, 6)), label=label)
        if page == 2:
            sheet.text(
                18,
                170,
                "Thank you for taking part. Please return this form in the envelope provided.",
            )
            sheet.comb(18, 190, 10, "0" + digits(rng, 9, 9), label="Phone (optional)", above=True)
            sheet.box(
                120,
                190,
                60,
                10,
                maybe(rng, digits(rng, 4, 6), 0.3),
                label="Interviewer code",
                above=True,
            )
        pages.append(sheet)
    return pages


def expense_claim(rng: np.random.Generator) -> list[Sheet]:
    sheet = Sheet()
    sheet.title("Travel expense claim")
    sheet.text(18, 33, "Attach receipts. Amounts in cents.")
    sheet.comb(18, 46, 7, digits(rng, 7, 7), label="Employee number", above=True)
    sheet.comb(100, 46, 5, digits(rng, 4, 5), label="Cost centre", above=True)
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    rows = []
    for r in range(len(days)):
        kilometres, parking = int(rng.integers(5, 420)), int(rng.integers(0, 3000))
        row = [str(kilometres), maybe(rng, str(parking), 0.35), str(kilometres * 30 + parking)]
        rows.append(row if r != 2 else ["", "", ""])  # no travel on Wednesday
    sheet.table(70, 82, [26, 34, 44], 11, ["Km", "Parking", "Amount"], rows, days)
    sheet.box(118, 148, 56, 12, digits(rng, 5, 6), label="Total claimed")
    sheet.comb(18, 178, 8, date(rng), label="Date", above=True)
    sheet.text(18, 205, "I confirm these journeys were made on company business.")
    return [sheet]


def timesheet(rng: np.random.Generator) -> list[Sheet]:
    sheet = Sheet(LETTER)
    sheet.title("Weekly timesheet")
    sheet.comb(18, 44, 6, digits(rng, 6, 6), label="Employee no.", above=True)
    sheet.box(100, 44, 20, 10, number(rng, 1, 52), label="Week", above=True)
    sheet.comb(140, 44, 8, date(rng), label="Week starting", above=True, cell_w=6.5)
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    rows = []
    for r in range(len(days)):
        worked = [number(rng, 4, 12), maybe(rng, number(rng, 1, 4), 0.5)]
        rows.append(worked if r < 5 or (r == 5 and rng.random() < 0.5) else ["", ""])
    sheet.table(60, 80, [30, 30], 11, ["Hours", "Overtime"], rows, days)
    sheet.box(60, 170, 30, 11, number(rng, 20, 60), label="Total hours")
    sheet.text(18, 200, "Submit by Monday noon. Overtime must be approved in advance.")
    return [sheet]


def stock_count(rng: np.random.Generator) -> list[Sheet]:
    sheet = Sheet()
    sheet.title("Stock count sheet")
    sheet.text(18, 33, "Count in pencil. Item codes from the shelf label.")
    sheet.box(50, 42, 30, 11, digits(rng, 3, 4), label="Store no.")
    sheet.comb(132, 42, 8, date(rng), label="Count date", h=11)
    sheet.text(50, 72, "Item code", size=3.4, bold=True)
    sheet.text(130, 72, "Counted", size=3.4, bold=True)
    for k in range(7):
        y = 76 + k * 16
        sheet.text(18, y + 6, f"Shelf {k + 1}", size=3.4)
        sheet.box(50, y, 60, 11, digits(rng, 6, 8))
        sheet.box(130, y, 40, 11, maybe(rng, number(rng, 0, 2500)))
    sheet.text(18, 200, "Counted by ____________________   Checked by ____________________")
    return [sheet]


def membership(rng: np.random.Generator) -> list[Sheet]:
    sheet = Sheet()
    sheet.title("Library membership application")
    sheet.text(18, 33, "Please write clearly, one digit per box where boxes are divided.")
    sheet.comb(18, 48, 10, digits(rng, 10, 10), label="Membership number", above=True)
    sheet.comb(120, 48, 8, date(rng), label="Date of birth", above=True)
    sheet.box(18, 76, 24, 11, number(rng, 1, 240), label="House no.", above=True)
    sheet.comb(60, 76, 5, digits(rng, 4, 5), label="Postcode", above=True)
    sheet.comb(110, 76, 11, "0" + digits(rng, 8, 9), label="Phone", above=True, cell_w=7)
    sheet.box(18, 104, 60, 11, digits(rng, 8, 9), label="ID card number", above=True)
    sheet.box(110, 104, 24, 11, maybe(rng, number(rng, 1, 30)), label="Books a month", above=True)
    sheet.band(126, "For library use only")
    sheet.box(60, 142, 40, 11, maybe(rng, digits(rng, 4, 5), 0.25), label="Branch code")
    sheet.box(150, 142, 40, 11, maybe(rng, digits(rng, 5, 6), 0.25), label="Card no.")
    sheet.comb(60, 162, 8, maybe(rng, date(rng), 0.25), label="Issued", h=11)
    return [sheet]


# ----------------------------------------------------------------------------- scans


@dataclass(frozen=True)
class Scan:
    """How a form is filled in and scanned."""

    dpi: int
    paper: tuple[int, int, int] = (250, 250, 248)
    ink: tuple[int, int, int] = (25, 25, 30)  # colour of the pen
    ink_density: float = 0.92  # how much light full ink absorbs (pencil is lower)
    print_colour: tuple[int, int, int] = (20, 20, 20)
    colour: bool = False  # an RGB scan; otherwise greyscale
    skews: tuple[float, ...] = (0.0,)  # degrees, one per page (positive: counter-clockwise)
    light: float = 0.06  # brightness falloff across the page
    blur: float = 0.6  # Gaussian sigma in pixels
    noise: float = 2.0  # sensor noise sigma in grey levels
    specks: int = 8  # dust dots per page
    quality: int = 85  # JPEG quality (JPEG files and PDF pages)


@dataclass(frozen=True)
class Form:
    name: str
    build: Callable[[np.random.Generator], list[Sheet]]
    scan: Scan


BLUE_BALLPOINT = (30, 50, 150)
# A form's place in this list seeds its values and picks its digits: add new forms at the end.
FORMS = [
    Form(
        "invoice_blue_ink.pdf",
        invoice,
        Scan(
            200,
            paper=(252, 250, 243),
            ink=BLUE_BALLPOINT,
            colour=True,
            skews=(0.6, -0.4),
            noise=2.5,
            quality=70,
        ),
    ),
    Form("tax_comb_fields.jpg", tax_return, Scan(300, blur=0.8, noise=1.5, specks=5, quality=80)),
    Form(
        "meter_readings_skewed.png",
        meter_readings,
        Scan(200, skews=(3.0,), light=0.08, noise=0.0, specks=6, blur=0.7),
    ),
    Form("order_table.tiff", purchase_order, Scan(200, skews=(0.5, -0.6), noise=0.0, specks=4)),
    Form(
        "delivery_note_lowres.jpg",
        delivery_note,
        Scan(
            150,
            paper=(250, 244, 214),
            ink=BLUE_BALLPOINT,
            colour=True,
            skews=(-1.2,),
            blur=0.5,
            noise=3.0,
            quality=55,
        ),
    ),
    Form(
        "survey_responses.pdf",
        survey,
        Scan(200, skews=(0.8, -1.2, 0.4), noise=2.0, specks=10, quality=65),
    ),
    Form(
        "expense_claim_uneven_light.jpg",
        expense_claim,
        Scan(
            250,
            paper=(248, 248, 250),
            ink=BLUE_BALLPOINT,
            colour=True,
            skews=(-0.7,),
            light=0.35,
            noise=2.0,
            quality=75,
        ),
    ),
    Form("timesheet_hours.png", timesheet, Scan(200, noise=0.0, blur=0.5, specks=3)),
    Form(
        "stock_count_pencil.png",
        stock_count,
        Scan(200, ink=(95, 95, 100), ink_density=0.55, skews=(-0.8,), noise=0.0, blur=0.9),
    ),
    Form(
        "membership_dusty.jpg",
        membership,
        Scan(
            200,
            paper=(247, 247, 244),
            ink=(55, 55, 60),
            colour=True,
            skews=(-1.0,),
            noise=2.0,
            specks=90,
            quality=75,
        ),
    ),
]


# ----------------------------------------------------------------------------- digits


class DigitPool:
    """MNIST test digits of each class, handed out in a seeded random order."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, seed: int, form_index: int):
        rng = np.random.default_rng([seed, 999])  # one shuffle for all forms
        start = form_index * DIGITS_PER_CLASS_PER_FORM
        self.images = images
        self.queues: dict[int, list[int]] = {}
        for label in range(10):
            shuffled = rng.permutation(np.flatnonzero(labels == label))
            self.queues[label] = list(shuffled[start : start + DIGITS_PER_CLASS_PER_FORM])

    def take(self, digit: str) -> np.ndarray:
        queue = self.queues[int(digit)]
        if not queue:
            raise ValueError(
                f"form uses more than {DIGITS_PER_CLASS_PER_FORM} {digit}s; "
                f"raise DIGITS_PER_CLASS_PER_FORM"
            )
        return self.images[queue.pop(0)]


def ink_crop(image: np.ndarray) -> np.ndarray:
    """The digit's ink (0..1) cropped to its bounding box."""
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255


def sprite(crop: np.ndarray, scale: float) -> np.ndarray:
    """The crop scaled smoothly; a one-pixel blank border first keeps the edges soft."""
    padded = np.pad(crop, 1)
    size = (max(1, round(padded.shape[1] * scale)), max(1, round(padded.shape[0] * scale)))
    return np.clip(cv2.resize(padded, size, interpolation=cv2.INTER_CUBIC), 0, 1)


def stamp(ink: np.ndarray, image: np.ndarray, x: int, y: int) -> None:
    region = ink[y : y + image.shape[0], x : x + image.shape[1]]
    np.maximum(region, image, out=region)


PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1, x1 and y1 exclusive


def write_digits(
    ink: np.ndarray,
    inner: PixelBox,
    box_height: int,
    crops: list[np.ndarray],
    rng: np.random.Generator,
) -> None:
    """Write a number into a box's interior: left to right, jittered, never touching its border."""
    x0, y0, x1, y1 = inner
    margin = max(3, round(0.06 * (y1 - y0)))
    room_w, room_h = x1 - x0 - 2 * margin, y1 - y0 - 2 * margin
    height = rng.uniform(0.60, 0.75) * box_height
    # Per digit: size jitter and the gap after it (handwriting is not evenly spaced).
    scales = [height * rng.uniform(0.92, 1.06) / max(c.shape) for c in crops]
    gaps = rng.uniform(0.08, 0.30, len(crops)) * height
    sprites = [sprite(c, s) for c, s in zip(crops, scales)]
    width = sum(s.shape[1] for s in sprites) + gaps[:-1].sum()
    tallest = max(s.shape[0] for s in sprites)
    shrink = min(1.0, room_w / width, room_h / tallest)
    if shrink < 1:  # a long number in a short box: the writer writes smaller
        sprites = [sprite(c, s * shrink * 0.98) for c, s in zip(crops, scales)]
        gaps = gaps * shrink * 0.98
        width = sum(s.shape[1] for s in sprites) + gaps[:-1].sum()
    x = x0 + margin + rng.uniform(0, 0.5) * max(0.0, room_w - width)
    centre = (y0 + y1) / 2
    for image, gap in zip(sprites, gaps):
        top = centre - image.shape[0] / 2 + rng.normal(0, 0.04) * box_height
        top = min(max(top, y0 + margin), y1 - margin - image.shape[0])
        stamp(ink, image * rng.uniform(0.85, 1.0), int(x), int(round(top)))
        x += image.shape[1] + max(1.0, gap)


def write_one_digit(
    ink: np.ndarray, cell: PixelBox, box_height: int, crop: np.ndarray, rng: np.random.Generator
) -> None:
    """Write one digit into a comb cell's interior, roughly centred."""
    x0, y0, x1, y1 = cell
    margin = max(3, round(0.06 * (y1 - y0)))
    room_w, room_h = x1 - x0 - 2 * margin, y1 - y0 - 2 * margin
    scale = rng.uniform(0.60, 0.75) * box_height / max(crop.shape)
    image = sprite(crop, scale)
    shrink = min(1.0, room_w / image.shape[1], room_h / image.shape[0])
    if shrink < 1:
        image = sprite(crop, scale * shrink * 0.98)
    slack_x, slack_y = room_w - image.shape[1], room_h - image.shape[0]
    x = x0 + margin + slack_x * np.clip(rng.normal(0.5, 0.15), 0, 1)
    y = y0 + margin + slack_y * np.clip(rng.normal(0.5, 0.15), 0, 1)
    stamp(ink, image * rng.uniform(0.85, 1.0), int(x), int(y))


# ----------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Geometry:
    """Millimetres to pixels for one page."""

    dpi: int

    @property
    def scale(self) -> float:
        return self.dpi / MM_PER_INCH

    @property
    def line(self) -> int:
        return max(2, round(LINE_MM * self.scale))

    def px(self, mm: float) -> int:
        return round(mm * self.scale)

    def box(self, rect: Rect) -> PixelBox:
        # The far edges are placed from where their border line starts, so that table cells
        # sharing a border draw it at exactly one place, one line wide.
        return (
            self.px(rect.x0),
            self.px(rect.y0),
            self.px(rect.x1 - LINE_MM) + self.line,
            self.px(rect.y1 - LINE_MM) + self.line,
        )


def comb_cells(box: PixelBox, cells: int, line: int) -> list[PixelBox]:
    """The outer borders of a comb's cells; neighbours share one border."""
    x0, y0, x1, y1 = box
    lefts = [x0 + round(k * (x1 - x0 - line) / cells) for k in range(cells)] + [x1 - line]
    return [(lefts[k], y0, lefts[k + 1] + line, y1) for k in range(cells)]


def inside(box: PixelBox, line: int) -> PixelBox:
    x0, y0, x1, y1 = box
    return x0 + line, y0 + line, x1 - line, y1 - line


def load_font(size_px: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size_px)
    except OSError:  # no DejaVu on this system: Pillow's own font (only the look changes)
        return ImageFont.load_default(size_px)


def draw_print(sheet: Sheet, geometry: Geometry, size: tuple[int, int]) -> np.ndarray:
    """Coverage (0..1) of everything printed on the page: text, rules, shading, borders."""
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    for rect in sheet.shades:
        draw.rectangle(geometry.box(rect), fill=28)
    for rect in sheet.rules:
        draw.rectangle(geometry.box(rect), fill=255)
    line = geometry.line
    boxes = [geometry.box(f.box) for f in sheet.fields]
    for form_field, box in zip(sheet.fields, boxes):
        cells = comb_cells(box, form_field.cells, line) if form_field.cells else [box]
        for x0, y0, x1, y1 in cells:
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=255, width=line)
    for text in sheet.texts:
        font = load_font(geometry.px(text.size), text.bold)
        position = (geometry.px(text.x), geometry.px(text.y))
        bounds = draw.textbbox(position, text.text, font=font, anchor=text.anchor)
        if any(overlaps(bounds, box) for box in boxes):
            raise ValueError(f"layout: text {text.text!r} overlaps a box")
        draw.text(position, text.text, fill=255, font=font, anchor=text.anchor)
    return np.asarray(canvas, dtype=np.float32) / 255


def overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def draw_handwriting(
    sheet: Sheet,
    geometry: Geometry,
    size: tuple[int, int],
    pool: DigitPool,
    rng: np.random.Generator,
) -> np.ndarray:
    """Coverage (0..1) of the pen: every field's digits."""
    ink = np.zeros((size[1], size[0]), np.float32)
    line = geometry.line
    for form_field in sheet.fields:
        box = geometry.box(form_field.box)
        crops = [ink_crop(pool.take(d)) for d in form_field.value]
        if not crops:
            continue
        height = box[3] - box[1]
        if not form_field.cells:
            write_digits(ink, inside(box, line), height, crops, rng)
            continue
        cells = comb_cells(box, form_field.cells, line)
        if form_field.right_aligned:
            cells = cells[len(cells) - len(crops) :]
        for cell, crop in zip(cells, crops):
            write_one_digit(ink, inside(cell, line), height, crop, rng)
    return ink


def compose(
    printed: np.ndarray, ink: np.ndarray, scan: Scan, rng: np.random.Generator
) -> np.ndarray:
    """The filled-in page (RGB, 0..255): ink and print absorb light from the paper."""
    height, width = printed.shape
    # Paper is never perfectly even: a faint low-frequency mottle.
    mottle = rng.normal(0, 1, (height // 64 + 2, width // 64 + 2)).astype(np.float32)
    mottle = cv2.resize(mottle, (width, height), interpolation=cv2.INTER_CUBIC)
    page = np.empty((height, width, 3), np.float32)
    page[:] = np.asarray(scan.paper, np.float32)
    page *= (1 + 0.004 * mottle)[..., None]
    print_absorb = 1 - np.asarray(scan.print_colour, np.float32) / 255
    ink_absorb = scan.ink_density * (1 - np.asarray(scan.ink, np.float32) / 255)
    page *= 1 - printed[..., None] * print_absorb
    page *= 1 - ink[..., None] * ink_absorb
    return page


def rotation(size: tuple[int, int], degrees: float) -> np.ndarray:
    """OpenCV's 2x3 matrix turning the page about its centre (pixel-centre coordinates)."""
    width, height = size
    return cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)


def skewed_box(box: PixelBox, matrix: np.ndarray, size: tuple[int, int]) -> tuple[float, ...]:
    """Where a box ends up after rotating the page, as fractions of the page (axis-aligned)."""
    x0, y0, x1, y1 = box
    # Box edges lie on pixel boundaries; OpenCV's coordinates put pixel centres on integers.
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float64) - 0.5
    moved = corners @ matrix[:, :2].T + matrix[:, 2] + 0.5
    width, height = size
    return (
        round(min(max(moved[:, 0].min() / width, 0), 1), 4),
        round(min(max(moved[:, 1].min() / height, 0), 1), 4),
        round(min(max(moved[:, 0].max() / width, 0), 1), 4),
        round(min(max(moved[:, 1].max() / height, 0), 1), 4),
    )


def scan_page(
    page: np.ndarray, matrix: np.ndarray, scan: Scan, rng: np.random.Generator
) -> np.ndarray:
    """What the scanner makes of the page: skew, dust, uneven light, blur, noise, 8 bits."""
    height, width = page.shape[:2]
    page = cv2.warpAffine(
        page,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255),
    )
    add_specks(page, scan.specks, rng)
    page *= lighting(width, height, scan.light, rng)[..., None]
    if scan.blur:
        page = cv2.GaussianBlur(page, (0, 0), scan.blur)
    if not scan.colour:
        page = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    if scan.noise:
        page += rng.standard_normal(page.shape, np.float32) * scan.noise
    return np.clip(np.rint(page), 0, 255).astype(np.uint8)


def lighting(width: int, height: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A brightness ramp across the page in a random direction, darkest on one side."""
    angle = rng.uniform(0, 2 * math.pi)
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)
    ramp = math.cos(angle) * xs[None, :] + math.sin(angle) * ys[:, None]
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    return 1 - strength * ramp


def add_specks(page: np.ndarray, count: int, rng: np.random.Generator) -> None:
    """Dust on the scanner glass: small dark dots, a few slightly elongated."""
    height, width = page.shape[:2]
    for _ in range(count):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(1, 4)), int(rng.integers(1, 3)))
        shade = float(rng.uniform(30, 120))
        cv2.ellipse(
            page,
            centre,
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            (shade, shade, shade),
            -1,
            cv2.LINE_AA,
        )


# ----------------------------------------------------------------------------- reading order


def reading_order(boxes: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the boxes top to bottom, then left to right. A box joins the current row when
    its vertical centre is within half its height of the row's mean centre (as digitize does)."""
    centre = [(b[1] + b[3]) / 2 for b in boxes]
    rows: list[list[int]] = []
    for i in sorted(range(len(boxes)), key=lambda i: centre[i]):
        height = boxes[i][3] - boxes[i][1]
        if rows and abs(centre[i] - np.mean([centre[j] for j in rows[-1]])) <= height / 2:
            rows[-1].append(i)
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda i: boxes[i][0])]


# ----------------------------------------------------------------------------- files


@dataclass
class RenderedPage:
    image: np.ndarray | None  # None when only the truth was asked for
    truth: list[dict]


def render_form(
    form: Form, index: int, pool: DigitPool | None, seed: int, file_label: str, images: bool = True
) -> list[RenderedPage]:
    """The pages of one form and their truth rows. Values and layout come from one random
    stream, the handwriting and the scan from another, so the truth does not depend on them."""
    sheets = form.build(np.random.default_rng([seed, index, 0]))
    ink_rng = np.random.default_rng([seed, index, 1])
    if len(sheets) != len(form.scan.skews):
        raise ValueError(f"{form.name}: {len(sheets)} pages but {len(form.scan.skews)} skews")
    pages = []
    for page_number, (sheet, skew) in enumerate(zip(sheets, form.scan.skews), start=1):
        geometry = Geometry(form.scan.dpi)
        size = (geometry.px(sheet.size[0]), geometry.px(sheet.size[1]))
        matrix = rotation(size, skew)
        boxes = [skewed_box(geometry.box(f.box), matrix, size) for f in sheet.fields]
        order = reading_order(boxes)
        designed = reading_order([(f.box.x0, f.box.y0, f.box.x1, f.box.y1) for f in sheet.fields])
        if order != designed:  # the skew must not change which field is which
            raise ValueError(f"{form.name} page {page_number}: skew changes the reading order")
        truth = [
            {
                "file": file_label,
                "page": page_number,
                "field": f"field_{rank}",
                "value": sheet.fields[i].value,
                **dict(zip(("x0", "y0", "x1", "y1"), boxes[i])),
            }
            for rank, i in enumerate(order, start=1)
        ]
        image = None
        if images:
            printed = draw_print(sheet, geometry, size)
            ink = draw_handwriting(sheet, geometry, size, pool, ink_rng)
            image = scan_page(compose(printed, ink, form.scan, ink_rng), matrix, form.scan, ink_rng)
        pages.append(RenderedPage(image, truth))
    return pages


def save_pages(images: list[np.ndarray], path: Path, scan: Scan) -> None:
    pictures = [Image.fromarray(image) for image in images]
    first, rest = pictures[0], pictures[1:]
    dpi = (scan.dpi, scan.dpi)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        first.save(
            path,
            save_all=True,
            append_images=rest,
            resolution=float(scan.dpi),
            quality=scan.quality,
            title=path.stem,
            creationDate=PDF_DATE,
            modDate=PDF_DATE,
        )
    elif suffix in (".tif", ".tiff"):
        first.save(
            path, save_all=True, append_images=rest, compression="tiff_adobe_deflate", dpi=dpi
        )
    elif rest:
        raise ValueError(f"{path.name}: only PDF and TIFF files can hold several pages")
    elif suffix in (".jpg", ".jpeg"):
        first.save(path, quality=scan.quality, dpi=dpi)
    else:
        first.save(path, compress_level=9, dpi=dpi)


def default_file_prefix(out: Path) -> str:
    """How a user at the repo root names the forms folder (absolute outside the repo)."""
    forms = (out / "forms").resolve()
    try:
        return forms.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return forms.as_posix()


def generate(
    mnist_dir: Path,
    out: Path,
    seed: int = SEED,
    only: Sequence[str] = (),
    file_prefix: str | None = None,
    images: bool = True,
) -> list[dict]:
    """Write the forms (all, or those named in `only`; none when not `images`) and the truth of
    all of them, truth.csv; return the truth rows."""
    unknown = set(only) - {form.name for form in FORMS}
    if unknown:
        raise ValueError(f"no such form: {', '.join(sorted(unknown))}")
    prefix = default_file_prefix(out) if file_prefix is None else file_prefix
    test = load_split(Path(mnist_dir), "test") if images else None
    (out / "forms").mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for index, form in enumerate(FORMS):
        # The truth of every form is cheap and does not depend on drawing it, so truth.csv is
        # always complete, even when only some forms are drawn.
        draw = images and (not only or form.name in only)
        pool = DigitPool(test.images, test.labels, seed, index) if draw else None
        pages = render_form(form, index, pool, seed, f"{prefix}/{form.name}", draw)
        if draw:
            save_pages([p.image for p in pages], out / "forms" / form.name, form.scan)
        rows.extend(row for page in pages for row in page.truth)
    write_truth(rows, out / "truth.csv")
    return rows


def write_truth(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, TRUTH_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **{k: f"{row[k]:.4f}" for k in ("x0", "y0", "x1", "y1")}})


def default_mnist_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or REPO_ROOT.parent / "shared" / "mnist")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mnist-dir",
        type=Path,
        default=None,
        help=f"MNIST directory [default: ${ENV_VAR}, else ../shared/mnist]",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "samples",
        help="writes OUT/forms/* and OUT/truth.csv [default: samples]",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--only",
        nargs="*",
        default=(),
        metavar="NAME",
        help="only these forms, e.g. order_table.tiff",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        rows = generate(args.mnist_dir or default_mnist_dir(), args.out, args.seed, args.only)
    except (MnistError, ValueError) as error:
        sys.exit(f"generate.py: {error}")
    pages = {(row["file"], row["page"]) for row in rows}
    files = {row["file"] for row in rows}
    print(
        f"{len(files)} forms, {len(pages)} pages, {len(rows)} fields, "
        f"{sum(len(row['value']) for row in rows)} digits "
        f"in {time.perf_counter() - started:.1f} s -> {args.out}"
    )


if __name__ == "__main__":
    main()
