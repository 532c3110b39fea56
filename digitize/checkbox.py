"""Checkboxes: whether a small square box is ticked or crossed, from the ink inside it.

A checkbox holds a mark, not a digit: its value is "1" (ticked, crossed, filled) or "0"
(empty), never read by the digit classifier, which would call a tick a 4 or a 7.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitize.cleanup import CleanPage
from digitize.fields import Field
from digitize.records import Doubt, ReviewReason
from digitize.segmentation_params import CheckboxParams, DigitParams


@dataclass(frozen=True)
class CheckboxMark:
    value: str  # "1" marked, "0" empty
    ink_share: float  # of the box's interior
    doubt: Doubt | None  # a mark too small to call either way


def read_checkbox(
    page: CleanPage,
    target: Field,
    params: CheckboxParams = CheckboxParams(),
    digits: DigitParams = DigitParams(),
) -> CheckboxMark:
    # The border's raggedness, as for digits, is not a mark.
    margin = max(1, int(round(page.dpi * digits.border_margin_in)))
    inside = target.interior_mask(margin) > 0
    ink = page.ink[target.interior.slice()] > 0
    share = float(ink[inside].mean()) if inside.any() else 0.0
    value = "1" if share >= (params.marked_share + params.empty_share) / 2 else "0"
    doubt = None
    if params.empty_share < share < params.marked_share:
        doubt = Doubt(
            ReviewReason.LOW_CONFIDENCE,
            f"checkbox: a small mark ({share:.1%} of the box), read as {value}",
        )
    return CheckboxMark(value=value, ink_share=share, doubt=doubt)
