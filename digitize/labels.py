"""Printed labels: the text on the form that names each field, read by Tesseract.

Contract (used by the scan, `digitize.page_task`, and `digitize template make`):

- `tesseract_missing() -> str | None`: None when labels can
  be read here; otherwise the one line saying why they cannot, e.g. "labels are empty:
  Tesseract's English model is not installed (apt-get install tesseract-ocr)", for the caller
  to say once per scan. It loads Tesseract (digitize.ocr): call it once, not per page.
- `read_labels(reading) -> list[str]`: one label per `reading.fields` entry, in that order;
  "" where no print names the field. It never raises for Tesseract's sake: without Tesseract,
  or when it fails or times out on a page, every label of the page is "".

Where a field's label is (in deskewed-page pixels, distances in millimetres at the page's DPI):

- a box or comb: the nearest printed phrase to its left on the same line (back to the field
  before it on that line, at most `max_left_gap_mm` away), else the nearest line of print
  directly above it (down to the field above it, at most `max_above_gap_mm` away), skipping a
  row of one-letter guides ("D D M M Y Y") over a comb's cells;
- a table cell (kind "cell" or "label"): its row's label, the print left of the row's first
  cell however far, and its column's header, the print above the column's top cell, joined
  by " / " ("Sandpaper P120 / Qty");
- a checkbox: its question, the label of the first checkbox of its row of checkboxes, and its
  own answer, the print just right of it, joined by " / " ("Paid? / Yes").

Print is found without Tesseract, as dark (or drop-out coloured) connected components outside
every field: a component touching a field's box is its border or its handwriting and never
part of a label, so handwriting is never read as a label. Only the phrases chosen are read:
each is cut out alone (the grey of its own components on white, scaled to one text height),
all the crops of a page are stacked into one image and Tesseract, kept loaded in the
process (digitize.ocr), reads it at once, the words going back to their crops by height. Where the print left of a field reads with little confidence (a prefix
the box found left out, handwriting of a box not found), the print above it is taken instead.

Measured by benchmarks/label_accuracy.py (benchmarks/results/label_accuracy.md): labels right
on 98 % of the fields found on the zoo's dev seeds and the bundled samples. Tesseract runs with
one thread (OMP_THREAD_LIMIT=1 unless the user set it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from digitize import ocr
from digitize.cleanup import CleanPage
from digitize.geometry import Box
from digitize.reading import PageReading
from digitize.segmentation_params import CleanupParams

TABLE_KINDS = ("cell", "label")
JOIN = " / "  # between a row's label and a column's header, a question and its answer
MISSING = ocr.MISSING


@dataclass(frozen=True)
class LabelParams:
    """How print is told from the rest, and how far from a field its label may be.

    Measured on the zoo's dev seeds 101-103 and the bundled samples, whose labels are 3.2-3.4
    mm type (about 10 pt) 1.2-2.5 mm beside their box or 1.1 mm above it."""

    # Print is this dark or darker (cleanup's own bound: drop-out light blue is grey 169) after
    # a blur this wide, and darker than the paper by `paper_contrast` grey levels or
    # `paper_sigmas` times the paper's noise, if more. Flattened noisy grey paper (zoo 101_09:
    # grey paper, noise, JPEG) is 222 +- 4.4 after the blur, and at 215 gave 30,851 specks
    # (172 of them letter-tall); drop-out green print is as light as 200 on paper of 252.
    lightest_print: int = CleanupParams().lightest_print
    blur_mm: float = 0.1
    paper_contrast: int = 30
    paper_sigmas: float = 6.0
    # A component whose box comes this close to a field's box is part of it: its border (a
    # dash of a dashed one lies up to 0.3 mm outside the box found; a whole frame round it,
    # as a double border's outer one, overlaps it anyway) or handwriting running out of it.
    # The zoo's labels keep 1.1 mm from their box.
    field_margin_mm: float = 0.3
    # A phrase is print when one of its components is this tall: the x-height of 10 pt type is
    # 1.8 mm, its cap height 2.4 mm, 6 pt's 1.5 mm; dust on the glass is up to 7 pixels, at
    # 150 DPI bi-level 1.35 mm (zoo 101_02: at 1.3 mm, four labels lost to a dot). The zoo's
    # comb guides (1.6 mm) are skipped as a row of single letters.
    min_text_mm: float = 1.5
    max_glyph_mm: float = 9.0  # taller: a box, a rule, a picture (the zoo's titles: 6.5 mm)
    rule_aspect: float = 0.15  # thinner than this and longer than rule_mm: a rule, no letter
    rule_mm: float = 5.0
    # Words of one phrase are closer than this many glyph heights (median): a word space is
    # about half; the zoo's comb guides stand 2-4 heights apart.
    phrase_gap: float = 1.5
    # A small glyph (a letter made short by blur, a full stop, the dot of an i) belongs to a
    # phrase within this many letter heights: a full stop is 0.2 from its letter; at 0.3 the
    # stops of "no." were lost, and short letters of blurred 150 DPI print ("Gro" for
    # "Gross", zoo 105_07) were lost when small glyphs did not join at all.
    attach: float = 0.6
    min_phrase_gap_mm: float = 1.0  # ... and at least this far apart (small type)
    # A left label ends at most this far from its field: the zoo's and the samples' are 1.2-2.5
    # mm from it, the answers of a checkbox row in the next column 34 mm or more.
    max_left_gap_mm: float = 20.0
    max_above_gap_mm: float = 10.0  # a label above: 1.1 mm, over a comb's guides 4 mm
    # A label above starts at its box's left edge, or as much as this before the box found
    # (which may leave out a printed prefix and the rule left of it: 3.3 mm in zoo 102_03).
    above_slack_mm: float = 5.0
    max_right_gap_mm: float = 5.0  # a checkbox's answer: 1.5 mm right of it
    # Checkboxes of one row (one question) are this close: the zoo's 8-20 mm apart.
    checkbox_row_gap_mm: float = 40.0
    # A glyph as tall as a checkbox and ruled along this share of each of its four sides is a
    # checkbox the ruling missed (letters are half as tall, and an O or D is not ruled so).
    checkbox_ruled: float = 0.8
    cell_gap_mm: float = 1.0  # cells of one table row or column: their boxes share a border
    line_band_mm: float = 3.0  # "the same line" is at least this far either side of the centre
    # Each crop is scaled so its median component is this tall: Tesseract reads print best
    # at a cap height of 20-30 pixels.
    ocr_text_px: int = 28
    ink_reach: float = 0.2  # a crop keeps the grey this many letter heights round its glyphs
    # A phrase read with less mean word confidence (0-100) gives way to the next one of its
    # part (the label above for the one left): labels read 90-96, print that is no label
    # (a prefix inside a box, handwriting of a box not found) under 50.
    min_confidence: float = 60.0
    ocr_timeout_s: float = 30.0


DEFAULT_PARAMS = LabelParams()


@dataclass(frozen=True)
class Glyphs:
    """The print components of a page, outside every field: boxes (page pixels) and each one's
    number in `numbers`, the connected-components image."""

    boxes: np.ndarray  # (n, 4) int: x0, y0, x1, y1 (exclusive)
    ids: np.ndarray  # (n,) their numbers in `numbers`
    numbers: np.ndarray  # int32 page image of component numbers
    text: np.ndarray  # (n,) bool: tall enough to be a letter (min_text_mm)


@dataclass(frozen=True)
class Phrase:
    """Print on one line (or a few stacked), words closer than a phrase gap: one crop."""

    box: Box
    members: tuple[int, ...]  # rows of Glyphs


# One part of a label (a row's label, a column's header, ...): the phrases that may be it, in
# order of preference; the first that reads as text with confidence is it (a dot of dust left
# of a field reads as nothing, and then the label above it is the label).
Part = tuple[Phrase, ...]


# ----------------------------------------------------------------------------- Tesseract


def tesseract_missing() -> str | None:
    """None when labels can be read here, else why not, in one line (see the module)."""
    return ocr.missing()


def read_labels(reading: PageReading, params: LabelParams = DEFAULT_PARAMS) -> list[str]:
    """One label per field of the page, in order ("" where none); see the module."""
    fields = [found.outer for found in reading.fields]
    if not fields:
        return []
    page = reading.segmented.page
    glyphs = find_glyphs(page, fields, params)
    parts = label_phrases(
        glyphs, fields, [found.kind for found in reading.fields], page.dpi, params
    )
    phrases = list({p.box: p for field in parts for part in field for p in part}.values())
    texts = read_phrases(page.gray, glyphs, phrases, params)
    if texts is None:
        return [""] * len(fields)
    read = dict(zip((p.box for p in phrases), texts))
    return [JOIN.join(t for part in field if (t := _choose(part, read, params))) for field in parts]


@dataclass(frozen=True)
class Read:
    """What Tesseract made of a phrase."""

    text: str  # cleaned (clean_label)
    confidence: float  # its words' mean, 0-100


def _choose(part: Part, read: dict[Box, Read], params: LabelParams) -> str:
    """The first phrase of the part read with confidence; failing that the most confident."""
    found = [read[phrase.box] for phrase in part if read[phrase.box].text]
    sure = [r for r in found if r.confidence >= params.min_confidence]
    best = sure[0] if sure else max(found, key=lambda r: r.confidence, default=None)
    return best.text if best is not None else ""


def read_phrases(
    gray: np.ndarray, glyphs: Glyphs, phrases: Sequence[Phrase], params: LabelParams
) -> list[Read] | None:
    """What each phrase reads, by one Tesseract call over all of them; None when Tesseract
    cannot be run."""
    if not phrases:
        return []
    crops = [phrase_image(gray, glyphs, p, params) for p in phrases]
    sheet, spans = stack(crops, params.ocr_text_px)
    read = ocr.read_words(sheet, params.ocr_timeout_s)
    if read is None:
        return None
    words: list[list[tuple[str, float]]] = [[] for _ in phrases]
    for found in read:
        word = clean_word(found.text)
        if not word:
            continue
        middle = found.top + found.height / 2
        for index, (start, end) in enumerate(spans):
            if start <= middle < end:
                words[index].append((word, found.confidence))
                break
    return [
        Read(
            clean_label(" ".join(w for w, _ in found)),
            float(np.mean([c for _, c in found])) if found else 0.0,
        )
        for found in words
    ]


def phrase_image(
    gray: np.ndarray, glyphs: Glyphs, phrase: Phrase, params: LabelParams
) -> np.ndarray:
    """The phrase alone: its components' own grey on white (nothing else near it is read),
    darkest print black, scaled so its median letter is `ocr_text_px` tall."""
    members = list(phrase.members)
    size = _size(glyphs, members)
    box = Box.union([phrase.box, _union(glyphs, members)]).grow(max(2.0, 0.3 * size))
    box = box.clip(gray.shape[1], gray.shape[0])
    mine = np.isin(glyphs.numbers[box.slice()], glyphs.ids[members])
    # With the grey around them: the soft edges, and what blur left of light print too faint to
    # be in the components (zoo 105_07, drop-out print blurred at 150 DPI: "Gro" of "Gross").
    reach = 2 * max(1, round(params.ink_reach * size)) + 1
    mine = cv2.dilate(mine.astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    crop = np.full(mine.shape, 255, np.float32)
    crop[mine] = gray[box.slice()][mine]
    darkest = float(np.percentile(crop[mine], 5)) if mine.any() else 0.0
    crop = np.clip((crop - darkest) * 255 / max(1.0, 255 - darkest), 0, 255)
    scale = params.ocr_text_px / max(1.0, size)
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation)
    return np.clip(crop, 0, 255).astype(np.uint8)


def stack(crops: Sequence[np.ndarray], text_px: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """One image of the crops one under another, a text height of white around each; and each
    crop's rows in it (with half the white either side, to take a word that grew)."""
    gap = text_px
    width = max(c.shape[1] for c in crops) + 2 * gap
    height = sum(c.shape[0] for c in crops) + gap * (len(crops) + 1)
    sheet = np.full((height, width), 255, np.uint8)
    spans = []
    y = gap
    for crop in crops:
        sheet[y : y + crop.shape[0], gap : gap + crop.shape[1]] = crop
        spans.append((y - gap // 2, y + crop.shape[0] + gap // 2))
        y += crop.shape[0] + gap
    return sheet, spans


# Stray marks Tesseract makes of a rule's end or a speck at either end of a label; a label may
# end in "." (Ref.), "?" (Paid?) or ")" but a ":" is the form's, not the name's.
STRAY_START = " |_-—–~'\"`‘’“”,.;:!*=<>[]{}\\/"
STRAY_END = " |_-—–~'\"`‘’“”,;:!*=<>[]{}\\/"
STRAY_WORD = ".,'`‘’-_~:;|°*"
ALLOWED_PUNCTUATION = set(".,:;?!()/&%#+-–'°€£$@*\"’")


def clean_word(word: str) -> str:
    """A word of Tesseract's without the marks dust and rule ends make: a word of dots,
    commas and dashes alone, a dot before a word (".no.")."""
    word = word.strip()
    if all(c in STRAY_WORD for c in word):
        return ""
    return word.lstrip(".,")


def clean_label(text: str) -> str:
    """Tesseract's words as a label: spaces collapsed, stray marks at the ends and characters
    no label is written with dropped, a trailing colon taken off."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(
        c if c.isalnum() or c in ALLOWED_PUNCTUATION else " " if c.isspace() else "" for c in text
    )
    kept = re.sub(r"\s+", " ", kept)
    return kept.lstrip(STRAY_START).rstrip(STRAY_END)


# ----------------------------------------------------------------------------- print


def find_glyphs(page: CleanPage, fields: Sequence[Box], params: LabelParams) -> Glyphs:
    """The print components of the page that are not part of a field (see Glyphs)."""
    mm = page.dpi / 25.4
    sigma = params.blur_mm * mm
    gray = cv2.GaussianBlur(page.gray, (0, 0), sigma) if sigma >= 0.5 else page.gray
    mask = (gray <= print_threshold(gray, params)).astype(np.uint8)
    count, numbers, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    x0, y0 = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
    boxes = np.stack(
        [x0, y0, x0 + stats[1:, cv2.CC_STAT_WIDTH], y0 + stats[1:, cv2.CC_STAT_HEIGHT]], axis=1
    )
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    keep = height <= params.max_glyph_mm * mm
    long = np.maximum(width, height) > params.rule_mm * mm
    keep &= ~(long & (np.minimum(width, height) < params.rule_aspect * np.maximum(width, height)))
    margin = params.field_margin_mm * mm
    for field in fields:
        keep &= ~(
            (boxes[:, 0] < field.x1 + margin)
            & (boxes[:, 2] > field.x0 - margin)
            & (boxes[:, 1] < field.y1 + margin)
            & (boxes[:, 3] > field.y0 - margin)
        )
    return Glyphs(
        boxes=boxes[keep],
        ids=np.arange(1, count)[keep],
        numbers=numbers,
        text=height[keep] >= params.min_text_mm * mm,
    )


def print_threshold(gray: np.ndarray, params: LabelParams) -> float:
    """The lightest grey that is print on this page: well below its paper (most of the page),
    by the paper's own noise (median and MAD over every third pixel)."""
    sample = gray[::3, ::3]
    paper = float(np.median(sample))
    noise = 1.4826 * float(np.median(np.abs(sample.astype(np.float32) - paper)))
    margin = max(params.paper_contrast, params.paper_sigmas * noise)
    return min(params.lightest_print, paper - margin)


def _inside(glyphs: Glyphs, box: Box, rows: np.ndarray) -> np.ndarray:
    """Which of the glyphs `rows` lie wholly in the box."""
    b = glyphs.boxes[rows]
    return (b[:, 0] >= box.x0) & (b[:, 1] >= box.y0) & (b[:, 2] <= box.x1) & (b[:, 3] <= box.y1)


def group_phrases(glyphs: Glyphs, rows: np.ndarray, params: LabelParams, mm: float) -> list[Phrase]:
    """The glyphs `rows` grouped left to right into phrases, those holding a letter-tall glyph.

    Letter-tall glyphs closer than the phrase gap are one phrase; a small glyph (a letter
    that blur or a low resolution made short, a full stop, the dot of an i) joins within
    `attach` glyph heights. At either end of a phrase, only a small glyph that could be a
    letter (half a letter's height) or a full stop or comma (on the line's foot) is kept:
    dust beside a label is not read (zoo 103_10: "Issued +", 102_01: "Total,°")."""
    letters = rows[glyphs.text[rows]]
    if not len(letters):
        return []
    size = _size(glyphs, letters)
    word_gap = max(params.min_phrase_gap_mm * mm, params.phrase_gap * size)
    groups: list[list[int]] = []
    right = -np.inf  # the right end of the phrase so far
    for row in rows[np.argsort(glyphs.boxes[rows, 0], kind="stable")]:
        gap = word_gap if glyphs.text[row] else params.attach * size
        if not groups or glyphs.boxes[row, 0] - right > gap:
            groups.append([])
            right = -np.inf
        groups[-1].append(int(row))
        right = max(right, glyphs.boxes[row, 2])
    found = []
    for group in groups:
        kept = _trimmed(glyphs, group, size)
        if kept:
            found.append(Phrase(_union(glyphs, kept), tuple(kept)))
    return found


def _trimmed(glyphs: Glyphs, group: list[int], size: float) -> list[int]:
    """The group without the small glyphs at its ends that are neither a letter nor a full
    stop or comma; [] when it holds no letter-tall glyph."""
    tall = [k for k, row in enumerate(group) if glyphs.text[row]]
    if not tall:
        return []
    boxes = glyphs.boxes[group]
    heights = boxes[:, 3] - boxes[:, 1]
    foot = float(np.median(boxes[heights >= 0.5 * size, 3]))  # where the letters stand
    letter = heights >= 0.5 * size
    stop = np.abs(boxes[:, 3] - foot) <= 0.25 * size
    first, last = tall[0], tall[-1]
    return [
        row
        for k, row in enumerate(group)
        if first <= k <= last or letter[k] or (k > last and stop[k])
    ]


def _size(glyphs: Glyphs, rows: Sequence[int] | np.ndarray) -> float:
    """The median height of the letter-tall glyphs among `rows` (of all, if none is)."""
    rows = np.asarray(rows)
    heights = glyphs.boxes[rows, 3] - glyphs.boxes[rows, 1]
    tall = heights[glyphs.text[rows]]
    return float(np.median(tall if len(tall) else heights))


def _union(glyphs: Glyphs, rows: Sequence[int]) -> Box:
    b = glyphs.boxes[list(rows)]
    return Box(int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max()))


# ----------------------------------------------------------------------------- layout


def label_phrases(
    glyphs: Glyphs, fields: Sequence[Box], kinds: Sequence[str], dpi: float, params: LabelParams
) -> list[tuple[Part, ...]]:
    """Each field's label as the parts to read, joined by JOIN once read (see the module)."""
    layout = Layout(glyphs, list(fields), list(kinds), dpi / 25.4, params)
    found = []
    for index, kind in enumerate(kinds):
        if kind in TABLE_KINDS:
            parts = layout.table_cell(index)
        elif kind == "checkbox":
            parts = layout.checkbox(index)
        else:
            parts = (layout.named(index),)
        found.append(tuple(part for part in parts if part))
    return found


@dataclass(frozen=True)
class Layout:
    """The fields of a page and the print around them, for finding each field's label."""

    glyphs: Glyphs
    fields: list[Box]
    kinds: list[str]
    mm: float  # pixels per millimetre
    params: LabelParams

    def named(self, index: int) -> Part:
        """A box's or comb's label: the print left of it on its line, else above it."""
        left = self.left(index, self.params.max_left_gap_mm * self.mm)
        return _part(left, self.above(index))

    def table_cell(self, index: int) -> tuple[Part, ...]:
        """Its row's label (left of the row's first cell) and its column's header."""
        touching = self.params.cell_gap_mm * self.mm
        first = index
        while (j := self._beside(first, touching)) is not None and self.kinds[j] in TABLE_KINDS:
            first = j
        top = index
        while (j := self._over(top, touching, column=True)) is not None and self.kinds[
            j
        ] in TABLE_KINDS:
            top = j
        return _part(self.left(first, float("inf"))), _part(self.above(top))

    def checkbox(self, index: int) -> tuple[Part, ...]:
        """Its row's question (the first checkbox's label) and its own answer, right of it."""
        first = index
        while (j := self._beside(first, self.params.checkbox_row_gap_mm * self.mm)) is not None:
            if self.kinds[j] != "checkbox":
                break
            first = j
        return self._question(first), _part(self.right(index))

    def _question(self, first: int) -> Part:
        """The label of the first checkbox of a row, passing over the checkboxes before it
        that the ruling missed (under 4.5 mm: zoo 105_03, 105_06): a box-like glyph in the
        print left of it is such a checkbox, and the print right of that its answer."""
        box, stop, ceiling = self.fields[first], self._stop(first), self._ceiling(first)
        max_gap = self.params.max_left_gap_mm * self.mm
        while True:
            left = self._left_of(box, stop, max_gap)
            missed = self._missed_checkbox(left, self.fields[first])
            if missed is None:
                return _part(left, self._above_of(box, ceiling))
            box = missed

    def _missed_checkbox(self, phrase: Phrase | None, checkbox: Box) -> Box | None:
        """The last glyph of the phrase that is a checkbox like this one, if any."""
        if phrase is None:
            return None
        rows = sorted(phrase.members, key=lambda r: self.glyphs.boxes[r, 0], reverse=True)
        return next((b for r in rows if (b := self._checkbox_like(r, checkbox))), None)

    def _checkbox_like(self, row: int, checkbox: Box) -> Box | None:
        """The glyph's box if it is a checkbox like this one: about as tall, about square,
        ruled along all four sides (a tick in it or not; no letter is)."""
        x0, y0, x1, y1 = (int(v) for v in self.glyphs.boxes[row])
        width, height = x1 - x0, y1 - y0
        if not (0.7 <= height / checkbox.height <= 1.4 and 0.7 <= width / height <= 1.4):
            return None
        ink = self.glyphs.numbers[y0:y1, x0:x1] == self.glyphs.ids[row]
        edge = max(1, round(0.1 * height))  # the rule, with the skew left over
        sides = (
            ink[:edge].any(axis=0),
            ink[-edge:].any(axis=0),
            ink[:, :edge].any(axis=1),
            ink[:, -edge:].any(axis=1),
        )
        ruled = min(float(side.mean()) for side in sides) >= self.params.checkbox_ruled
        return Box(x0, y0, x1, y1) if ruled else None

    # The print around a field.

    def left(self, index: int, max_gap: float) -> Phrase | None:
        """The phrase on the field's line nearest its left edge, at most `max_gap` from it, and
        right of the field before it on that line."""
        return self._left_of(self.fields[index], self._stop(index), max_gap)

    def _left_of(self, field: Box, stop: int, max_gap: float) -> Phrase | None:
        boxes = self.glyphs.boxes
        rows = np.flatnonzero(
            self._on_line(field) & (boxes[:, 2] <= field.x0) & (boxes[:, 0] >= stop)
        )
        near = [
            p
            for p in group_phrases(self.glyphs, rows, self.params, self.mm)
            if field.x0 - p.box.x1 <= max_gap
        ]
        return max(near, key=lambda p: p.box.x1, default=None)

    def right(self, index: int) -> Phrase | None:
        """The phrase on the field's line just right of it (a checkbox's answer)."""
        field = self.fields[index]
        stop = min(
            (
                b.x0
                for j, b in enumerate(self.fields)
                if j != index and b.x0 >= field.x1 and self._same_line(field, b)
            ),
            default=2**31,
        )
        boxes = self.glyphs.boxes
        rows = np.flatnonzero(
            self._on_line(field) & (boxes[:, 0] >= field.x1) & (boxes[:, 2] <= stop)
        )
        near = [
            p
            for p in group_phrases(self.glyphs, rows, self.params, self.mm)
            if p.box.x0 - field.x1 <= self.params.max_right_gap_mm * self.mm
        ]
        return min(near, key=lambda p: p.box.x0, default=None)

    def above(self, index: int) -> Phrase | None:
        """The nearest line of print over the field, within its width and below the field over
        it (not a row of one-letter guides); of that line, the phrase most over the field."""
        return self._above_of(self.fields[index], self._ceiling(index))

    def _above_of(self, field: Box, ceiling: int) -> Phrase | None:
        boxes = self.glyphs.boxes
        band = (
            (boxes[:, 3] <= field.y0)
            & (boxes[:, 3] >= field.y0 - self.params.max_above_gap_mm * self.mm)
            & (boxes[:, 1] >= ceiling)
        )
        start = field.x0 - self.params.above_slack_mm * self.mm
        across = (boxes[:, 2] > start) & (boxes[:, 0] < field.x1)
        for line in reversed(self._lines(np.flatnonzero(band & across))):
            words = group_phrases(self.glyphs, line, self.params, self.mm)
            if not words or (len(words) >= 3 and all(self._letters(p) == 1 for p in words)):
                continue  # no print, or a comb's guide letters, one over each cell
            top, bottom = boxes[line, 1].min(), boxes[line, 3].max()
            middle = (boxes[:, 1] + boxes[:, 3]) / 2
            whole = np.flatnonzero(band & (middle >= top) & (middle <= bottom))
            candidates = group_phrases(self.glyphs, whole, self.params, self.mm)
            best = max(
                candidates,
                key=lambda p: _overlap(p.box.x0, p.box.x1, field.x0, field.x1),
                default=None,
            )
            if best is not None and _overlap(best.box.x0, best.box.x1, start, field.x1) > 0:
                return best
        return None

    def _letters(self, phrase: Phrase) -> int:
        return int(self.glyphs.text[list(phrase.members)].sum())

    def _on_line(self, field: Box) -> np.ndarray:
        """Glyphs whose centre is on the field's line (at least `line_band_mm` either side of
        its middle, so a small checkbox's label beside it counts)."""
        half = max(field.height / 2, self.params.line_band_mm * self.mm)
        middle = (self.glyphs.boxes[:, 1] + self.glyphs.boxes[:, 3]) / 2
        return (middle >= field.center_y - half) & (middle <= field.center_y + half)

    def _lines(self, rows: np.ndarray) -> list[np.ndarray]:
        """`rows` as text lines, top to bottom: a glyph joins a line its middle lies in."""
        boxes = self.glyphs.boxes
        lines: list[list[int]] = []
        top = bottom = 0
        for row in rows[np.argsort(boxes[rows, 1] + boxes[rows, 3], kind="stable")]:
            y0, y1 = boxes[row, 1], boxes[row, 3]
            middle = (y0 + y1) / 2
            if lines and (top <= middle <= bottom or y0 <= (top + bottom) / 2 <= y1):
                lines[-1].append(int(row))
                top, bottom = min(top, y0), max(bottom, y1)
            else:
                lines.append([int(row)])
                top, bottom = y0, y1
        return [np.array(line) for line in lines]

    # The fields around a field.

    def _stop(self, index: int) -> int:
        """Where the field before this one on its line ends (0: none)."""
        neighbour = self._beside(index)
        return self.fields[neighbour].x1 if neighbour is not None else 0

    def _ceiling(self, index: int) -> int:
        """Where the field over this one ends (0: none)."""
        over = self._over(index)
        return self.fields[over].y1 if over is not None else 0

    def _beside(self, index: int, max_gap: float | None = None) -> int | None:
        """The nearest field left of this one on its line (within `max_gap`, if given)."""
        field = self.fields[index]
        tolerance = self.params.cell_gap_mm * self.mm
        best, best_x = None, -np.inf
        for j, other in enumerate(self.fields):
            if j == index or other.x0 >= field.x0 or other.x1 > field.x0 + tolerance:
                continue
            if not self._same_line(field, other) or other.x1 <= best_x:
                continue
            if max_gap is None or field.x0 - other.x1 <= max_gap:
                best, best_x = j, other.x1
        return best

    def _over(self, index: int, max_gap: float | None = None, column: bool = False) -> int | None:
        """The nearest field over this one that shares some of its width, or (`column`) half
        the narrower one's; within `max_gap`, if given. (Cells of a table overlap their
        neighbours by the border they share.)"""
        field = self.fields[index]
        tolerance = self.params.cell_gap_mm * self.mm
        best, best_y = None, -np.inf
        for j, other in enumerate(self.fields):
            if j == index or other.y0 >= field.y0 or other.y1 > field.y0 + tolerance:
                continue
            shared = _overlap(other.x0, other.x1, field.x0, field.x1)
            if shared <= (0.5 * min(field.width, other.width) if column else 0):
                continue
            if other.y1 <= best_y:
                continue
            if max_gap is None or field.y0 - other.y1 <= max_gap:
                best, best_y = j, other.y1
        return best

    @staticmethod
    def _same_line(a: Box, b: Box) -> bool:
        """Half the smaller one's height in common."""
        return _overlap(a.y0, a.y1, b.y0, b.y1) >= 0.5 * min(a.height, b.height)


def _part(*phrases: Phrase | None) -> Part:
    return tuple(p for p in phrases if p is not None)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)
