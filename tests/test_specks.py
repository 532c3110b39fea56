"""A digit made of specks is doubted, a broken stroke is not (digitize.specks)."""

from __future__ import annotations

import numpy as np

from digitize.digits import DigitCandidate, DigitSlot, FieldDigits
from digitize.geometry import Box
from digitize.records import ReviewReason
from digitize.specks import made_of_specks, speck_doubt


def candidate(mask: np.ndarray) -> DigitCandidate:
    height, width = mask.shape
    return DigitCandidate(box=Box(100, 100, 100 + width, 100 + height), mask=mask)


def two_dots() -> np.ndarray:
    """Two 11 px dots 50 px apart, a mark 61 px tall (zoo dev 103-10)."""
    mask = np.zeros((61, 11), bool)
    mask[:11, :] = mask[50:, :] = True
    return mask


def test_dots_one_above_the_other_are_specks():
    assert made_of_specks(candidate(two_dots()))


def test_a_stroke_broken_in_two_or_whole_is_no_specks():
    broken = np.zeros((61, 8), bool)
    broken[:25, 2:6] = broken[32:, 2:6] = True  # a faint 1 broken in the middle
    assert not made_of_specks(candidate(broken))
    assert not made_of_specks(candidate(np.ones((61, 8), bool)))
    dotted = np.ones((61, 4), bool)
    dotted[5::6] = False  # a pencil 1 a bi-level scan broke every 6 px by a 1 px gap
    assert not made_of_specks(candidate(dotted))


def test_a_field_with_a_specks_digit_is_doubted():
    digit = candidate(np.ones((61, 30), bool))
    found = FieldDigits(slots=[DigitSlot([[digit]]), DigitSlot([[candidate(two_dots())]])])
    doubt = speck_doubt(found)
    assert doubt is not None and doubt.reason is ReviewReason.SEGMENTATION
    assert "(100, 100)" in doubt.detail
    # Also when only another reading of the slot holds the specks.
    other = FieldDigits(slots=[DigitSlot([[digit], [digit, candidate(two_dots())]])])
    assert speck_doubt(other) is not None
    assert speck_doubt(FieldDigits(slots=[DigitSlot([[digit]])])) is None
