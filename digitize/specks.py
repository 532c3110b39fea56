"""Digits made of specks: dots of a scanner's noise that lined up, read as a 1 and sure.

A speckled page's dark dots are darker than faint handwriting, and two of them one above the
other in a box are a tall thin mark, as tall as the digits beside it: the classifier reads a
1 at 0.99 (zoo dev 103-10: 99424 read "994124", unflagged, two dots of 11 px 50 px apart
among digits 80 px tall). A written stroke, however broken by a faint pen or a bi-level scan,
leaves pieces as long as a good part of the digit; specks leave none. Such a mark is doubted,
not dropped: a digit broken into dots by a bi-level scan looks the same, and dropping it
would lose it without a word.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitize.digits import DigitCandidate, FieldDigits
from digitize.records import Doubt, ReviewReason

# Every piece of a speck mark is shorter than this share of the mark's height: the dev
# specks 0.18 (11 of 61 px); a pen's pieces run along much of the digit.
SPECK_OF_HEIGHT = 0.2


def speck_doubt(found: FieldDigits) -> Doubt | None:
    """A doubt naming the first mark, in any reading of the field, made of specks; else None."""
    for slot in found.slots:
        for option in slot.options:
            for candidate in option:
                if made_of_specks(candidate):
                    box = candidate.box
                    return Doubt(
                        ReviewReason.SEGMENTATION,
                        f"a mark at ({box.x0}, {box.y0}) is dots, no stroke: specks of the "
                        "scan, or a digit broken into dots",
                    )
    return None


def made_of_specks(candidate: DigitCandidate) -> bool:
    """Two pieces or more, each shorter both ways than `SPECK_OF_HEIGHT` of the mark, once
    pieces a pixel or two apart are joined as the digit finder joins them (a stroke that a
    faint pen or a bi-level scan broke every few pixels is one stroke)."""
    joined = cv2.morphologyEx(
        candidate.mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)
    )
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    if count < 3:  # the background and one piece
        return False
    longest = stats[1:, cv2.CC_STAT_WIDTH : cv2.CC_STAT_HEIGHT + 1].max()
    return bool(longest < SPECK_OF_HEIGHT * candidate.box.height)
