"""Checkboxes: whether a small square box is ticked or crossed, from the ink inside it.

A checkbox holds a mark, not a digit: its value is "1" (ticked, crossed, filled) or "0"
(empty), never read by the digit classifier, which would call a tick a 4 or a 7.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitize.cleanup import CleanPage
from digitize.field_ink import rethresholded
from digitize.fields import Field
from digitize.records import Doubt, ReviewReason
from digitize.segmentation_params import CheckboxParams, DigitParams, InkParams


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
    ink: InkParams = InkParams(),
) -> CheckboxMark:
    """The box's mark at the page's threshold; a box that looks empty there is looked at again
    with its own threshold, since a pencil tick is lighter than the print that sets the
    page's (zoo dev seeds 101-112: the 3 ticks read empty were pencil at 150 DPI). A mark
    found only so is read, and flagged `faint_ink`."""
    share = _ink_share(page, target, digits)
    if share <= params.empty_share:
        local = rethresholded(page, target, ink, digits)
        faint_share = _ink_share(local, target, digits) if local is not None else 0.0
        if faint_share > params.empty_share:
            value = "1" if faint_share >= params.marked_share else "0"
            faint = Doubt(
                ReviewReason.FAINT_INK,
                f"checkbox: a faint mark ({faint_share:.1%} of the box), read as {value}",
            )
            return CheckboxMark(value=value, ink_share=faint_share, doubt=faint)
    value = "1" if share >= (params.marked_share + params.empty_share) / 2 else "0"
    doubt = None
    if params.empty_share < share < params.marked_share:
        doubt = Doubt(
            ReviewReason.LOW_CONFIDENCE,
            f"checkbox: a small mark ({share:.1%} of the box), read as {value}",
        )
    return CheckboxMark(value=value, ink_share=share, doubt=doubt)


def _ink_share(page: CleanPage, target: Field, digits: DigitParams) -> float:
    """The share of the box's interior that is ink; the border's raggedness, as for digits,
    is not a mark."""
    margin = max(1, int(round(page.dpi * digits.border_margin_in)))
    inside = target.interior_mask(margin) > 0
    ink = page.ink[target.interior.slice()] > 0
    return float(ink[inside].mean()) if inside.any() else 0.0
