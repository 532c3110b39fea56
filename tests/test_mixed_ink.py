"""A digit written over print as dark as a light pen is doubted (digitize.mixed_ink)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitize.records import ReviewReason
from digitize.segmentation import segment_page

DPI = 300
MM = DPI / 25.4


def box_holding(letter_grey: int | None, pen_grey: int) -> np.ndarray:
    """A 10 x 12 mm box with a 1 written in it (a slanted stroke, 0.5 mm pen of `pen_grey`),
    over a printed guide letter `M` of `letter_grey` (none: no guide)."""
    image = Image.new("L", (int(60 * MM), int(40 * MM)), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20 * MM, 10 * MM, 30 * MM, 22 * MM), outline=0, width=round(0.3 * MM))
    if letter_grey is not None:
        draw.text((25 * MM, 16 * MM), "M", fill=letter_grey, font_size=int(5 * MM), anchor="mm")
    draw.line((26 * MM, 12 * MM, 24.5 * MM, 20.5 * MM), fill=pen_grey, width=round(0.5 * MM))
    return np.asarray(image)


def mixed_ink_doubted(image: np.ndarray) -> bool:
    fields = [f for f in segment_page(image, DPI).fields if f.field.kind == "box"]
    assert len(fields) == 1 and fields[0].slots
    return any(
        d.reason == ReviewReason.SEGMENTATION and "two inks" in d.detail for d in fields[0].doubts
    )


def test_a_dark_digit_over_a_grey_guide_letter_is_doubted():
    """The 1 and the grey M are one mark, read as one digit (zoo 9064-07: 1220 read 4220 at
    0.99, unflagged)."""
    assert mixed_ink_doubted(box_holding(letter_grey=175, pen_grey=40))


@pytest.mark.parametrize("pen_grey", [40, 175])
def test_a_digit_of_one_ink_is_not(pen_grey):
    """Dark ink or pencil alone: dark at its core, light only at its rim."""
    assert not mixed_ink_doubted(box_holding(letter_grey=None, pen_grey=pen_grey))
