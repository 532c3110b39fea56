"""Where a template's fields fall on a scanned page: the page registered to the template.

A scan of a form is never where its template was: fed a few millimetres off, printed at 98 %
or 102 %, rotated a degree or two. The page's own ruling says where it is: the boxes the
reader found on it are the template's boxes moved by one similarity transform (shift, scale,
rotation). Each pair of a template box and a page box of the same size proposes a shift; the
shift that lines up the most boxes wins, the boxes it lines up fit the full transform, and
each template field is matched to the page box it then overlaps most.

Boxes are measured in page widths on both axes (a fraction of the height times the page's
height / width), so that a rotation is a rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from digitize.records import Box
from digitize.scoring import iou
from digitize.template import Template

# A page box is the template's when it is this close (page widths, ~4 mm on A4) once the
# best shift is applied: a 2 % scale error moves a box at the far side of the page by ~0.02.
FIRST_TOLERANCE = 0.02
# After the full transform is fitted: boxes found on a page wander by a rule's width or two.
MATCH_MIN_IOU = 0.4
# Sizes within this ratio (width and height) may be the same printed box.
SIZE_RATIO = 1.5
# Shifts farther than this (page widths) are not a scan of the form placed on a scanner.
MAX_SHIFT = 0.25
# Fields matched by the similarity transform needed to fit a full affine one from their corners.
MIN_AFFINE_PAIRS = 4
# Shifts are voted for in cells this wide (page widths): half the tolerance, so that the boxes
# a shift lines up vote in one cell or its neighbour.
SHIFT_STEP = FIRST_TOLERANCE / 2
# The fullest cells tried: a table's pitch makes a few false shifts popular too.
MAX_CANDIDATES = 24
# Checkboxes are matched only with checkboxes; the other kinds are one printed box read in
# different ways (a comb with faint dividers found as a box, a table cell as a label cell).
BOX_KINDS = frozenset({"box", "comb", "cell", "label"})


@dataclass(frozen=True)
class Registration:
    matches: tuple[int | None, ...]  # per template field: the page field's index, or None
    boxes: tuple[Box, ...]  # per template field: where its box falls on the page (fractions)

    @property
    def matched(self) -> int:
        return sum(m is not None for m in self.matches)


def register(
    template: Template, boxes: Sequence[Box], kinds: Sequence[str], aspect: float
) -> Registration:
    """Match the template's fields to a page's found fields (`boxes` as fractions of the page,
    `kinds`; `aspect` the page's height / width)."""
    source = _in_widths([f.box for f in template.fields], template.aspect)
    target = _in_widths(boxes, aspect)
    compatible = _compatible([f.kind for f in template.fields], kinds, source, target)
    transform = _fit(source, target, compatible)
    moved = _apply(transform, source)
    matches = _match(moved, target, compatible)
    # Another printing of the form (another office's copy) is not the template scaled alike
    # on both axes: the boxes matched so far fit a full affine transform, which places the
    # rest (the election sheets of one form from two provinces: rows 0.06 and 0.045 of the
    # page high).
    refined = _refit(source, target, matches)
    if refined is not None:
        moved = _apply(refined, source)
        matches = _match(moved, target, compatible)
    placed = tuple(_as_fractions(box, aspect) for box in moved)
    return Registration(matches=matches, boxes=placed)


def _in_widths(boxes: Sequence[Box], aspect: float) -> np.ndarray:
    array = np.array(boxes, float).reshape(-1, 4)
    return array * np.array([1.0, aspect, 1.0, aspect])


def _as_fractions(box: np.ndarray, aspect: float) -> Box:
    x0, y0, x1, y1 = (float(v) for v in np.clip(box / [1.0, aspect, 1.0, aspect], 0.0, 1.0))
    return (round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4))


def _sizes(boxes: np.ndarray) -> np.ndarray:
    return np.maximum(boxes[:, 2:] - boxes[:, :2], 1e-6)


def _centres(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, :2] + boxes[:, 2:]) / 2


def _compatible(
    template_kinds: Sequence[str], page_kinds: Sequence[str], source: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """(template fields, page fields): which pairs may be the same printed box."""
    kind_ok = np.array(
        [
            [(a in BOX_KINDS and b in BOX_KINDS) or a == b for b in page_kinds]
            for a in template_kinds
        ],
        bool,
    ).reshape(len(template_kinds), len(page_kinds))
    ratio = _sizes(source)[:, None, :] / _sizes(target)[None, :, :]
    size_ok = np.all((ratio < SIZE_RATIO) & (ratio > 1 / SIZE_RATIO), axis=2)
    return kind_ok & size_ok


def _fit(source: np.ndarray, target: np.ndarray, compatible: np.ndarray) -> np.ndarray:
    """The 2x3 similarity transform taking the template to the page (identity when nothing
    can be lined up)."""
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    pairs = np.argwhere(compatible)
    if len(pairs) == 0:
        return identity
    from_centres, to_centres = _centres(source), _centres(target)
    shifts = to_centres[pairs[:, 1]] - from_centres[pairs[:, 0]]
    near = np.linalg.norm(shifts, axis=1) <= MAX_SHIFT
    if not near.any():
        return identity
    candidates = _likeliest_shifts(shifts[near])
    best = max(candidates, key=lambda s: _lined_up(s, from_centres, to_centres, compatible)[0])
    _, template_rows, page_rows = _lined_up(best, from_centres, to_centres, compatible)
    if len(template_rows) < 3:  # too few points to fit a scale and rotation: the shift alone
        return np.array([[1.0, 0.0, best[0]], [0.0, 1.0, best[1]]])
    fitted, _ = cv2.estimateAffinePartial2D(
        from_centres[template_rows].astype(np.float32),
        to_centres[page_rows].astype(np.float32),
        method=cv2.LMEDS,
    )
    if fitted is None:
        return np.array([[1.0, 0.0, best[0]], [0.0, 1.0, best[1]]])
    return fitted.astype(float)


def _refit(
    source: np.ndarray, target: np.ndarray, matches: Sequence[int | None]
) -> np.ndarray | None:
    """The affine transform that the matched pairs' corners fit best, or None when too few
    fields were matched to fit six numbers reliably."""
    pairs = [(row, column) for row, column in enumerate(matches) if column is not None]
    if len(pairs) < MIN_AFFINE_PAIRS:
        return None
    rows, columns = (np.array(side) for side in zip(*pairs))
    fitted, _ = cv2.estimateAffine2D(
        _corner_points(source[rows]), _corner_points(target[columns]), method=cv2.LMEDS
    )
    return None if fitted is None else fitted.astype(float)


def _corner_points(boxes: np.ndarray) -> np.ndarray:
    """Each box's top-left and bottom-right corners, as points."""
    return boxes.reshape(-1, 2).astype(np.float32)


def _likeliest_shifts(shifts: np.ndarray) -> list[np.ndarray]:
    """The shifts most pairs of boxes propose: voted into cells of SHIFT_STEP, the
    MAX_CANDIDATES fullest cells, each as the median of its votes. Scoring every pair's shift
    against every box grows as the fourth power of the boxes (a 400-cell table: 16 s a page);
    the true shift is proposed by most boxes, so it is among the fullest cells."""
    cells = np.round(shifts / SHIFT_STEP).astype(np.int64)
    _, which, votes = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    which = which.reshape(-1)
    fullest = np.argsort(votes, kind="stable")[::-1][:MAX_CANDIDATES]
    return [np.median(shifts[which == cell], axis=0) for cell in fullest]


def _lined_up(
    shift: np.ndarray, source: np.ndarray, target: np.ndarray, compatible: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """How well a shift lines the template's centres up with the page's: the count of
    template fields with a compatible page field within FIRST_TOLERANCE (less a little for
    the distances, so that of two shifts lining up as many the closer fit wins), and the
    pairs it lines up."""
    distances = np.linalg.norm(source[:, None, :] + shift - target[None, :, :], axis=2)
    distances = np.where(compatible, distances, np.inf)
    nearest = distances.argmin(axis=1)
    closest = distances[np.arange(len(source)), nearest]
    inliers = np.flatnonzero(closest <= FIRST_TOLERANCE)
    score = len(inliers) - float(closest[inliers].sum()) / FIRST_TOLERANCE / max(len(source), 1)
    return score, inliers, nearest[inliers]


def _apply(transform: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Boxes moved by the transform: their centres moved, their sizes scaled (a box stays
    axis-aligned; a degree or two of rotation changes a field's box by a pixel or two)."""
    scales = np.linalg.norm(transform[:, :2], axis=0)  # of the page's x and y axes
    centres = _centres(boxes) @ transform[:, :2].T + transform[:, 2]
    half = _sizes(boxes) * scales / 2
    return np.hstack([centres - half, centres + half])


def _match(moved: np.ndarray, target: np.ndarray, compatible: np.ndarray) -> tuple[int | None, ...]:
    """Each template field's page field: the pairs of highest overlap first, each page field
    used once."""
    overlaps = np.where(compatible, iou(moved, target), 0.0)
    matches: list[int | None] = [None] * len(moved)
    used: set[int] = set()
    for flat in np.argsort(overlaps, axis=None)[::-1]:
        row, column = divmod(int(flat), max(overlaps.shape[1], 1))
        if overlaps[row, column] < MATCH_MIN_IOU:
            break
        if matches[row] is None and column not in used:
            matches[row] = column
            used.add(column)
    return tuple(matches)
