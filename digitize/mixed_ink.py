"""Marks of two inks: handwriting over print as dark as a light pen, read as one digit.

A comb's printed guides (`D D M M Y Y`, grey letters inside the cells) are as dark as pencil
or faint ink, so the page's threshold takes them with the digit written over them, and the
classifier reads the two as one digit, sometimes sure of it (zoo 9064-07: a 1 in dark blue
over a grey `M`, read 4 at 0.99, unflagged). Where the digit's own ink is darker than the
print, the mark shows it: a good share of its pixels are light and lie away from every dark
stroke, where a pen's stroke is dark at its core and light only at its rim. Such a mark is
doubted, not changed: which pixels are the print is not known, and a digit whose pen ran
dry in a stroke looks the same.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitize.digits import DigitCandidate, FieldDigits
from digitize.records import Doubt, ReviewReason

# A pixel is light when it is at least this share of the way from the mark's darkest grey
# (its 10th percentile) to the paper (255). On 9064-07 the blue 1 is 93 and the guide 175,
# which 0.5 (174) called dark.
LIGHT_OF_RANGE = 0.4
DARKEST_PERCENTILE = 10
# ... and away from the dark strokes when farther than this (inches, 0.2 mm: a stroke's rim).
RIM_IN = 0.008
# A mark with this share of its pixels light and away from its dark strokes holds print.
# Forced guides combs (zoo seed 140) and page 9064-07, 153 box and comb fields: at 0.15 the
# two guides fields read wrong without a flag are doubted, and 2 other unflagged fields.
AWAY_SHARE = 0.15
SMALLEST_MARK_PX = 20  # fewer pixels say nothing of two inks


def mixed_ink_doubt(gray: np.ndarray, found: FieldDigits, dpi: float) -> Doubt | None:
    """A doubt naming the first digit, as read first, whose mark holds two inks; else None."""
    rim = max(1, round(RIM_IN * dpi))
    for slot in found.slots:
        for candidate in slot.options[0]:
            if light_away_share(gray, candidate, rim) >= AWAY_SHARE:
                box = candidate.box
                return Doubt(
                    ReviewReason.SEGMENTATION,
                    f"the mark at ({box.x0}, {box.y0}) is of two inks, a dark one and a light "
                    "one apart from it: print under the handwriting?",
                )
    return None


def light_away_share(gray: np.ndarray, candidate: DigitCandidate, rim: int) -> float:
    """The share of the mark's pixels that are light and farther than `rim` pixels from its
    dark ones."""
    mark = candidate.mask
    if np.count_nonzero(mark) < SMALLEST_MARK_PX:
        return 0.0
    crop = gray[candidate.box.slice()].astype(np.float32)
    darkest = float(np.percentile(crop[mark], DARKEST_PERCENTILE))
    dark = (mark & (crop <= darkest + LIGHT_OF_RANGE * (255.0 - darkest))).astype(np.uint8)
    near = cv2.dilate(dark, np.ones((2 * rim + 1, 2 * rim + 1), np.uint8)) > 0
    return float(np.count_nonzero(mark & ~near)) / float(np.count_nonzero(mark))
