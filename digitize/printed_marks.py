"""Is what a box holds print? A wide box holding only small marks at one end (`€`, `+44`, `No.`,
`kg` printed in a box left empty) is read as digits by geometry alone; Tesseract, reading
those marks as a line of print, says when they are print instead.

Print is what Tesseract reads with a character no digit is (a letter, a sign) at a confidence
that handwriting does not reach: on the zoo dev seeds' prefix forms, printed prefixes alone in a
box read 93-96 ("+44", "No.", "€"; "£" 88-92, "$" as "S" 34-51), and of 300 first handwritten
digits of those forms' boxes, cropped alike, none with such a character read over 92 ("5:",
"a", "if" 90-92; a lone 1 read "/" at up to 92.97, so strokes alone never count). The field stays flagged `not_digits` either way: only its value changes,
from the print's look-alike digits to empty.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from digitize import ocr
from digitize.geometry import Box

PRINT_CONFIDENCE = 93.0  # 0-100, Tesseract's, the word least sure
TEXT_HEIGHT_PX = 40  # the marks scaled to this height: Tesseract's print size at 300 DPI
OCR_TIMEOUT_S = 2.0
# Characters that say nothing of print on their own: digits, and the strokes a handwritten 1
# is read as (lone MNIST 1s read "/" and "\\" at 92.6-92.97, a hair under PRINT_CONFIDENCE).
NOT_PRINT_ALONE = frozenset("0123456789 /\\|!()[]{}lI-_.,:;'\"`")


def printed_text(gray: np.ndarray, marks: Box) -> str | None:
    """What Tesseract reads as print in `marks` (page pixels) of the grey page, or None when it
    is not sure it is print (or cannot read here)."""
    words = _sure_words(gray, marks)
    if words is None:
        return None
    return words if any(c not in NOT_PRINT_ALONE for c in words) else None


def printed_spans(gray: np.ndarray, marks: Box) -> list[tuple[int, int]]:
    """Where (page x0, x1) Tesseract reads words of print in the line `marks`: words it is
    sure of (PRINT_CONFIDENCE) that hold a sign or letter, or two characters at least (a form
    number beside a title). One digit or stroke alone is not enough: a lone handwritten 0's
    stroke read "|" at 93.5 (zoo dev 113-5); of the dev seeds' ink outside their boxes, print
    words read 94.96-96.6 and handwriting 0-85.7."""
    return _sure_spans(
        gray, marks, lambda text: len(text) >= 2 or any(c not in NOT_PRINT_ALONE for c in text)
    )


def sign_spans(gray: np.ndarray, marks: Box) -> list[tuple[int, int]]:
    """As `printed_spans`, but only words holding a sign or letter (`printed_text`'s rule):
    beside handwritten digits in a box, a word of digits alone may be the handwriting."""
    return _sure_spans(gray, marks, lambda text: any(c not in NOT_PRINT_ALONE for c in text))


def _sure_spans(
    gray: np.ndarray, marks: Box, is_print: Callable[[str], bool]
) -> list[tuple[int, int]]:
    """Where (page x0, x1) Tesseract reads words it is sure of that `is_print` accepts."""
    crop, scale, left = _line_crop(gray, marks)
    if crop is None:
        return []
    words = ocr.read_words(crop, OCR_TIMEOUT_S, one_line=True) or []
    return [
        (left + int(word.left / scale), left + int(np.ceil((word.left + word.width) / scale)))
        for word in words
        if word.confidence >= PRINT_CONFIDENCE and (text := word.text.strip()) and is_print(text)
    ]


def _line_crop(gray: np.ndarray, marks: Box) -> tuple[np.ndarray | None, float, int]:
    """`marks` with a margin, scaled to Tesseract's print size; the scale, and the crop's
    left edge on the page."""
    pad = max(4, marks.height // 3)
    height, width = gray.shape[:2]
    left = max(0, marks.x0 - pad)
    crop = gray[
        max(0, marks.y0 - pad) : min(height, marks.y1 + pad), left : min(width, marks.x1 + pad)
    ]
    scale = TEXT_HEIGHT_PX / max(1, marks.height)
    if crop.size == 0:
        return None, scale, left
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(crop), scale, left


def _sure_words(gray: np.ndarray, marks: Box) -> str | None:
    """The words Tesseract reads in `marks` as one line, when it is sure of every one."""
    crop, _, _ = _line_crop(gray, marks)
    words = None if crop is None else ocr.read_words(crop, OCR_TIMEOUT_S, one_line=True)
    if not words:
        return None
    text = " ".join(word.text.strip() for word in words).strip()
    sure = min(word.confidence for word in words) >= PRINT_CONFIDENCE
    return text if sure and text else None
