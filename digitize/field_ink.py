"""A field's ink measured against its own paper, not the page's threshold.

The page is binarized once (digitize.cleanup), by a threshold that the page's print decides:
dark borders and labels pull it down, and faint pencil on the same page falls above it and
vanishes, so the field reads EMPTY, sure of itself. Here each box is looked at on its own:

- `marks`: what in the box is darker than the box's paper, and whether the digits took it up;
- `rethresholded`: the page with this box binarized by its own threshold (its paper against
  its ink), for reading faint ink the page's threshold missed.

Nothing a box holds is dropped without a word: marks the digits did not take up become a
doubt (`ink_left_over`, `faint_ink`) for the reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from digitize.cleanup import CleanPage
from digitize.digits import DigitCandidate
from digitize.fields import Field
from digitize.geometry import Box
from digitize.segmentation_params import DigitParams, InkParams


@dataclass(frozen=True)
class Mark:
    box: Box  # page pixels
    area: int
    contrast: float  # mean grey levels below the box's paper
    left_over: bool  # not taken up by any digit candidate


def marks(
    page: CleanPage,
    target: Field,
    candidates: list[DigitCandidate],
    params: InkParams = InkParams(),
    digits: DigitParams = DigitParams(),
) -> list[Mark]:
    """Every mark in the field's box large enough to matter, left over or not."""
    interior = target.interior
    inside = _inside(page, target, digits)
    if not inside.any():
        return []
    # Averaged over 3x3 pixels: the grain of the paper (and of a scanner) cuts a faint
    # stroke into specks; the average of nine keeps the stroke whole.
    gray = cv2.blur(page.gray[interior.slice()], (3, 3)).astype(np.int16)
    paper = float(np.median(gray[inside]))
    dark = ((paper - gray) >= params.min_contrast) & inside
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        dark.astype(np.uint8), connectivity=8
    )
    covered = _covered(page, interior, candidates, params)
    height = interior.height
    found = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if max(w, h) < params.min_size_of_box * height or area < params.min_area * height**2:
            continue
        pixels = labels[y : y + h, x : x + w] == label
        outside = np.count_nonzero(pixels & ~covered[y : y + h, x : x + w])
        found.append(
            Mark(
                box=Box(interior.x0 + x, interior.y0 + y, interior.x0 + x + w, interior.y0 + y + h),
                area=area,
                contrast=paper - float(gray[y : y + h, x : x + w][pixels].mean()),
                left_over=bool(outside >= params.left_over_share * area),
            )
        )
    return found


def rethresholded(
    page: CleanPage,
    target: Field,
    params: InkParams = InkParams(),
    digits: DigitParams = DigitParams(),
    faint_margin: int = 25,
) -> CleanPage | None:
    """The page with the field's box binarized by the box's own threshold (Otsu over the box,
    between its paper and its ink), or None when the box has no ink distinct enough from its
    paper to trust one. Only the box's pixels change."""
    interior = target.interior
    inside = _inside(page, target, digits)
    values = page.gray[interior.slice()][inside]
    if values.size == 0:
        return None
    threshold, _ = cv2.threshold(values.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink_values, paper_values = values[values <= threshold], values[values > threshold]
    if ink_values.size == 0 or paper_values.size == 0:
        return None
    paper = float(np.median(paper_values))
    grain = 1.4826 * float(np.median(np.abs(paper_values - paper)))  # the paper's noise, robustly
    contrast = paper - float(ink_values.mean())
    if contrast < max(params.min_contrast, params.local_min_grains * grain):
        return None
    if ink_values.size > params.local_max_ink_share * values.size:
        return None  # a shaded box or a dark background, not ink on paper
    # The faint margin (hysteresis) must stop short of the paper's own grain: three of its
    # standard deviations below its median.
    faint = max(threshold, min(threshold + faint_margin, paper - 3 * grain - 1))
    return replace(
        page,
        ink=_with_box(page.ink, page.gray, interior, inside, threshold),
        faint_ink=_with_box(page.faint_ink, page.gray, interior, inside, faint),
    )


def _with_box(
    mask: np.ndarray, gray: np.ndarray, interior: Box, inside: np.ndarray, threshold: float
) -> np.ndarray:
    result = mask.copy()
    region = result[interior.slice()]
    local = gray[interior.slice()] <= threshold
    region[inside] = np.where(local[inside], 255, 0).astype(np.uint8)
    return result


def contrast(
    page: CleanPage, target: Field, candidates: list[DigitCandidate], digits: DigitParams
) -> float | None:
    """How much darker than the box's paper its digit candidates are, on average (grey
    levels); None without candidates."""
    if not candidates:
        return None
    interior = target.interior
    inside = _inside(page, target, digits)
    gray = page.gray[interior.slice()]
    taken = _covered(page, interior, candidates, None)
    if not (taken & inside).any():
        return None
    return float(np.median(gray[inside])) - float(gray[taken & inside].mean())


def _inside(page: CleanPage, target: Field, digits: DigitParams) -> np.ndarray:
    """The box's pixels clear of its border, as find_digits takes them."""
    margin = max(1, int(round(page.dpi * digits.border_margin_in)))
    return target.interior_mask(margin) > 0


def _covered(
    page: CleanPage, interior: Box, candidates: list[DigitCandidate], params: InkParams | None
) -> np.ndarray:
    """The candidates' pixels in the interior, grown by `params.cover_grow_in` (None: not
    grown)."""
    covered = np.zeros((interior.height, interior.width), np.uint8)
    for candidate in candidates:
        box = candidate.box
        region = covered[
            box.y0 - interior.y0 : box.y1 - interior.y0, box.x0 - interior.x0 : box.x1 - interior.x0
        ]
        region[candidate.mask[: region.shape[0], : region.shape[1]]] = 1
    if params is None:
        return covered > 0
    grow = max(1, int(round(page.dpi * params.cover_grow_in))) * 2 + 1
    return cv2.dilate(covered, np.ones((grow, grow), np.uint8)) > 0
