"""Handwriting outside every box found: read, and flagged `no_box`, never dropped in silence.

A box the field finders miss (a light rule broken where a marker's strokes come near it, a
dashed box lost in a scanner's noise, a double box's faint inner rule) leaves its digits on
the page with no row at all. That was the one silent failure left on the held-out zoo forms
(seeds 9043-9045: all 16 unflagged errors were boxes not found) and 8 of the 13 on the dev
seeds. So whatever ink no field, checkbox or rule takes up, and that stands as tall as
handwriting, becomes a field of kind `unboxed` over the ink itself: its digits are read like a
box's, and it is always flagged. Print outside the boxes (a form's title, a heading) comes
out as letters, and `digitize.decision` drops such a field as it drops a table's word cells.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitize.cleanup import CleanPage
from digitize.fields import Field, page_lines
from digitize.geometry import Box, Cell
from digitize.printed_marks import printed_spans
from digitize.ruling import Ruling, chosen_components, components
from digitize.segmentation_params import FieldParams, UnboxedParams


def find_unboxed_ink(
    page: CleanPage,
    fields: list[Field],
    ruling: Ruling,
    params: UnboxedParams,
    field_params: FieldParams,
) -> list[Field]:
    """Fields of kind `unboxed` around the ink outside every field in `fields` and off the
    `ruling`: one per line of marks (`_lines`) at least one of which is as tall as
    handwriting."""
    rules = cv2.bitwise_or(ruling.solid, page_lines(ruling, field_params))
    outside = _outside_fields(page, fields, rules, params)
    count, labels, stats = components(outside)
    speck = params.min_mark_in * page.dpi
    ruled = _ruled_share(labels, stats[:, cv2.CC_STAT_AREA], rules)
    found_marks = [
        (Box(int(x), int(y), int(x + w), int(y + h)), float(share))
        for (x, y, w, h, _), share in zip(stats[1:count], ruled[1:count], strict=True)
        if max(w, h) >= speck
    ]
    marks = [mark for mark, _ in found_marks]
    # Straight strokes are print (a broken box's sides) or digits (a 1): a line of them
    # alone is print, and one other mark as tall as a digit makes it handwriting.
    strokes = {mark for mark, share in found_marks if share >= params.ruled_share}
    tallest = params.max_height_in * page.dpi
    shortest = params.min_height_in * page.dpi

    def handwriting(line: list[Box]) -> bool:
        return any(shortest <= m.height <= tallest and m not in strokes for m in line)

    height, width = outside.shape
    found = []
    # Print as small as a label's, dust, or lines too tall to be digits are left out, and
    # then print Tesseract reads (a title, a form number): a heading over handwriting is no
    # paragraph of it.
    lines = [line for line in _lines(marks, params) if handwriting(line)]
    lines = [line for line in (_without_print(page, line) for line in lines) if handwriting(line)]
    for line in _outside_paragraphs(lines, params):
        box = Box.union(line)
        # The row's box is the ink's own; its digits are looked for with a margin around.
        interior = box.grow(params.margin_of_height * box.height).clip(width, height)
        found.append(Field(box=box, cells=[Cell.of_box(interior)], kind="unboxed"))
    return found


def _outside_paragraphs(lines: list[list[Box]], params: UnboxedParams) -> list[list[Box]]:
    """The lines that are no part of a paragraph: handwritten text (a NIST form's copied
    preamble, 12 lines read as 6 to 53 "digits") stands in lines one under the other, a line's
    height or less apart, while the boxes of a form's column stand further apart than their
    digits are tall."""
    spans = [Box.union(line) for line in lines]

    def stacked(a: Box, b: Box) -> bool:
        gap = max(a.y0, b.y0) - min(a.y1, b.y1)
        across = min(a.x1, b.x1) - max(a.x0, b.x0)
        return gap <= params.paragraph_gap * max(
            a.height, b.height
        ) and across >= params.paragraph_overlap * min(a.width, b.width)

    return [
        line
        for line, span in zip(lines, spans, strict=True)
        if not any(other is not span and stacked(span, other) for other in spans)
    ]


def _without_print(page: CleanPage, line: list[Box]) -> list[Box]:
    """The line's marks less those under words Tesseract reads as print (a form's title and
    its number, a heading): a title may stand in one line with handwriting."""
    spans = printed_spans(page.gray, Box.union(line))
    return [m for m in line if not any(x0 <= (m.x0 + m.x1) / 2 <= x1 for x0, x1 in spans)]


def _ruled_share(labels: np.ndarray, areas: np.ndarray, rules: np.ndarray) -> np.ndarray:
    """Of each component in `labels` (of `areas` pixels), the share on the ruling."""
    area = areas.astype(float)
    on_rules = np.bincount(labels[rules > 0], minlength=len(area)).astype(float)
    return np.divide(on_rules, area, out=np.zeros_like(area), where=area > 0)


def _outside_fields(
    page: CleanPage, fields: list[Field], rules: np.ndarray, params: UnboxedParams
) -> np.ndarray:
    """The page's ink less the rules longer than a digit and every field with a clearance
    around it (a digit written over a box's border is that box's). Shorter straight strokes
    stay: a 1, a 7's bar are ruling too."""
    ink = cv2.bitwise_or(page.ink, _light_marks(page, params))
    _, labels, stats = components(rules)
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    longer_than_digits = np.maximum(widths, heights) > params.max_height_in * page.dpi
    printed = np.flatnonzero(longer_than_digits)
    long_rules = chosen_components(labels, stats, printed[printed > 0])
    ink[cv2.dilate(long_rules, np.ones((5, 5), np.uint8)) > 0] = 0
    clearance = params.field_clearance_in * page.dpi
    height, width = ink.shape
    for target in fields:
        ink[target.box.grow(clearance).clip(width, height).slice()] = 0
    return ink


def _light_marks(page: CleanPage, params: UnboxedParams) -> np.ndarray:
    """Marks lighter than the page's threshold, which its print sets: pencil far lighter than
    the print is no ink there, and with its box lost too it made no row at all (fresh zoo
    page 9058-05, pencil 179 grey at its darkest in blurred dotted drop-out boxes). Only
    whole marks as big as a stroke's piece count, none touching dark ink: on noisy grey paper
    the light pixels are specks by the ten thousand (73,000 on one page, 11 of them 1.5 mm
    long), which made a page's scan 50 times slower when they all counted."""
    count, labels, stats = page.print_pieces
    touching_ink = np.bincount(labels[page.ink > 0], minlength=count) > 0
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    light = ~touching_ink & (extent >= params.light_mark_in * page.dpi)
    light[0] = False  # the paper
    return chosen_components(labels, stats, np.flatnonzero(light))


def _lines(marks: list[Box], params: UnboxedParams) -> list[list[Box]]:
    """Marks side by side at one height, as a line of writing (or print) is: each joins the
    line it overlaps in height and stands near to."""
    lines: list[list[Box]] = []
    spans: list[Box] = []
    for mark in sorted(marks, key=lambda m: m.x0):
        for k, span in enumerate(spans):
            overlap = min(span.y1, mark.y1) - max(span.y0, mark.y0)
            gap = mark.x0 - span.x1
            if overlap >= params.line_overlap * min(
                span.height, mark.height
            ) and gap <= params.line_gap * max(span.height, mark.height):
                lines[k].append(mark)
                spans[k] = Box.union([span, mark])
                break
        else:
            lines.append([mark])
            spans.append(mark)
    return lines
