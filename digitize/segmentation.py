"""Segmentation: a page image cut into fields and normalized digit candidates, no classifier.

    page image -> CleanPage -> fields -> digit slots and their options -> (n, 28, 28) images

Every option of every slot knows which rows of `SegmentedPage.images` hold its digits, so the
decision (`digitize.decision`) never has to walk the nesting in the same order again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitize.cleanup import CleanPage, clean_page
from digitize.digits import DigitCandidate, find_digits
from digitize.fields import Field, find_fields, find_ruling
from digitize.normalize import normalize_digit
from digitize.records import Doubt
from digitize.segmentation_params import SegmentationParams


@dataclass(frozen=True)
class DigitOption:
    """One reading of a stretch of ink: these candidates, one digit each."""

    candidates: list[DigitCandidate]
    rows: range  # their rows in SegmentedPage.images, in order


@dataclass(frozen=True)
class SegmentedSlot:
    """One stretch of ink and its alternative readings; the first is geometry's own choice."""

    options: list[DigitOption]


@dataclass(frozen=True)
class SegmentedField:
    field: Field
    slots: list[SegmentedSlot]
    doubts: list[Doubt]  # why the segmentation may be wrong


@dataclass(frozen=True)
class SegmentedPage:
    page: CleanPage
    fields: list[SegmentedField]  # in reading order
    images: np.ndarray  # (n, 28, 28) uint8: every candidate of every option of every field


def segment_page(
    image: np.ndarray, dpi: float | None = None, params: SegmentationParams | None = None
) -> SegmentedPage:
    """Fields and digit candidates of a page image; `dpi` when the file says (else guessed);
    `params` the thresholds (None: the defaults)."""
    params = params or SegmentationParams()
    page = clean_page(image, dpi, params.cleanup)
    ruling = find_ruling(page.ink, page.dpi, params.fields)
    fields = find_fields(ruling, page.dpi, params.fields, params.combs)
    candidates: list[DigitCandidate] = []
    segmented = []
    for target in fields:
        found = find_digits(page, target, params.digits)
        slots = []
        for slot in found.slots:
            options = []
            for option in slot.options:
                start = len(candidates)
                candidates.extend(option)
                options.append(DigitOption(candidates=option, rows=range(start, len(candidates))))
            slots.append(SegmentedSlot(options))
        segmented.append(SegmentedField(field=target, slots=slots, doubts=list(found.doubts)))
    images = np.zeros((len(candidates), 28, 28), np.uint8)
    for row, candidate in enumerate(candidates):
        images[row] = normalize_digit(page.gray, candidate, params.normalize)
    return SegmentedPage(page=page, fields=segmented, images=images)
