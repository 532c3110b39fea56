"""Checkboxes whose mark took their frame out of the ruling, found as a square frame of print.

A checkbox is found as a hole in the page's ruling (`digitize.fields`). On a drop-out colour
form its frame is lighter than ink and rules the page only in the print ink, from which a
marker's strokes are taken out first, so that they do not rule the page themselves
(`digitize.ruling`). A tick or cross touching the frame takes the frame's sides out with it,
and no hole is left (zoo dev seeds 101-112: the 13 checkboxes still missed were all on
drop-out colour forms and 9 of them marked). Here such a frame is looked for directly: a
piece of print ink about a checkbox's size whose outermost long rows and columns make a
square, each side one thin stroke along its length, around an interior that is not solid ink.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitize.cleanup import CleanPage
from digitize.fields import Field, reading_order
from digitize.geometry import Box, Cell
from digitize.segmentation_params import FieldParams

# A frame's side is inked along at least this share of its length: a scan's raggedness and a
# mark's stroke crossing it leave that; a letter's bowl or a digit's curve does not.
SIDE_INKED = 0.85
# Sides within this share of each other: a checkbox is square, and so is its frame.
SIDES_ALIKE = 0.15
# A mark's overshoot: the piece of ink may reach this share of the side beyond the frame
# (a tick's long arm).
OVERSHOOT = 0.6
# A checkbox's rule is printed thin (the zoo's 0.3 mm): thicker, along a side's whole middle,
# is a bold letter's stroke (a 24-point title's O: 0.06 in).
THICKEST_RULE_IN = 0.03
# The frame's interior at most this share inked: a solid square (a printed bullet, a blot) is
# not a checkbox; a marker's cross on a 4 mm box at 300 DPI filled 80-90 % of it (zoo dev
# seed 106).
MOST_INTERIOR_INK = 0.95


def find_checkbox_frames(fields: list[Field], page: CleanPage, params: FieldParams) -> list[Field]:
    """`fields` with the checkboxes found as frames in the page's print ink that no field
    holds."""
    dpi = page.dpi
    near = int(dpi * params.shared_border_in)
    taken = [f.box.grow(near) for f in fields]
    found: list[Field] = []
    for frame, interior in _square_frames(page.print_pieces, dpi, params):
        if any(frame.overlaps(box) for box in taken):
            continue
        found.append(Field(box=frame, cells=[Cell.of_box(interior)], kind="checkbox"))
        taken.append(frame.grow(near))
    return reading_order(fields + found, params) if found else fields


def _square_frames(
    pieces: tuple[int, np.ndarray, np.ndarray], dpi: float, params: FieldParams
) -> list[tuple[Box, Box]]:
    """The square frames among the `pieces` of print ink (`CleanPage.print_pieces`) of a
    checkbox's size (with a mark's overshoot), each as its outer box and its interior, in
    page pixels."""
    smallest = dpi * params.min_checkbox_side_in
    largest = dpi * params.checkbox_max_side_in  # inside, as for a checkbox's hole
    _, labels, stats = pieces
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    sized = (np.minimum(widths, heights) >= smallest) & (
        np.maximum(widths, heights) <= (1 + OVERSHOOT) * largest
    )
    frames = []
    for label in np.flatnonzero(sized[1:]) + 1:
        x, y, w, h = stats[label, :4]
        piece = labels[y : y + h, x : x + w] == label
        frame = _frame_in(piece, smallest, dpi * THICKEST_RULE_IN)
        if frame is None:
            continue
        interior = _interior(piece, frame)
        if smallest <= min(interior.width, interior.height) and (
            max(interior.width, interior.height) <= largest
        ):
            frames.append((frame.shifted(int(x), int(y)), interior.shifted(int(x), int(y))))
    return frames


def _frame_in(piece: np.ndarray, smallest: float, thickest_rule: float) -> Box | None:
    """The square frame a piece of ink is drawn around, in its own pixels, or None: its
    longest runs across and down are the frame's sides, and the outermost rows and columns
    with runs nearly that long are the frame."""
    across, down = _longest_runs(piece), _longest_runs(piece.T)
    side_across, side_down = int(across.max()), int(down.max())
    if min(side_across, side_down) < smallest:
        return None
    rows = np.flatnonzero(across >= SIDE_INKED * side_across)
    columns = np.flatnonzero(down >= SIDE_INKED * side_down)
    frame = Box(int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1)
    # The frame's own sides: the longest runs include a mark's strokes where they go on
    # past the frame (a cross from corner to corner, 4 mm at 300 DPI: 56 px against 48).
    if max(frame.width, frame.height) > (1 + SIDES_ALIKE) * min(frame.width, frame.height):
        return None
    if max(piece.shape) > (1 + OVERSHOOT) * max(frame.width, frame.height):
        return None
    if not _sides_inked(piece, frame) or not _thin_sides(piece, frame, thickest_rule):
        return None
    inner = frame.grow(-max(2, frame.width // 5))
    interior = piece[inner.y0 : inner.y1, inner.x0 : inner.x1]
    return frame if interior.size and interior.mean() <= MOST_INTERIOR_INK else None


def _interior(piece: np.ndarray, frame: Box) -> Box:
    """Inside the frame's rule, as thick as the rows inked along the frame's top."""
    top = piece[frame.y0 : frame.y1, frame.x0 : frame.x1].mean(axis=1) >= SIDE_INKED
    rule = int(np.argmin(top)) if not top.all() else 1
    return frame.grow(-max(1, rule))


def _sides_inked(piece: np.ndarray, frame: Box) -> bool:
    """Is each of the frame's four sides one stroke along its length (within two pixels of
    the frame's edge, for a rule that wanders)? A letter's bowl or a digit's curve falls
    short at the corners."""
    body = piece[frame.y0 : frame.y1, frame.x0 : frame.x1]
    edges = (body[:3], body[-3:], body[:, :3].T, body[:, -3:].T)
    return all(
        _longest_runs(np.any(edge, axis=0, keepdims=True))[0] >= SIDE_INKED * edge.shape[1]
        for edge in edges
    )


def _thin_sides(piece: np.ndarray, frame: Box, thickest: float) -> bool:
    """Is each side, somewhere along its middle, a rule no thicker than `thickest`: ink from
    the piece's edge through the frame's edge no deeper than that? A mark thickens a side
    only where it crosses it; a bold letter's stroke is thick all along (zoo dev seed 101: a
    title's O, as square as a frame by its long rows and columns, its ring 0.06 in thick)."""
    height, width = piece.shape
    sides = (
        (piece, frame.y0, frame.x0, frame.x1),
        (piece[::-1], height - frame.y1, frame.x0, frame.x1),
        (piece.T, frame.x0, frame.y0, frame.y1),
        (piece.T[::-1], width - frame.x1, frame.y0, frame.y1),
    )
    reach = int(2 * thickest) + 1
    for image, edge, start, end in sides:
        middle = slice(start + (end - start) // 5, end - (end - start) // 5)
        across = image[: edge + reach, middle].T  # one row per point of the side
        if _longest_runs(across).min() > thickest:
            return False
    return True


def _longest_runs(image: np.ndarray) -> np.ndarray:
    """The longest run of ink in each row: the count of ink so far, less its count at the
    last gap."""
    counts = np.cumsum(image, axis=1, dtype=np.int32)
    at_gaps = np.maximum.accumulate(np.where(image, 0, counts), axis=1)
    return (counts - at_gaps).max(axis=1)
