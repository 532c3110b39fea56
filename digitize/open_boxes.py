"""Open boxes: boxes whose border does not close, found by their top and bottom rules.

A worn border with long gaps, a dashed one that a marker's digits run into, or a drop-out box
that a bi-level scan left in pieces encloses no hole in the ruling (`digitize.fields`), and a
box not found gives no row at all: the one silent loss left on generated forms (zoo held-out
9022-9030: 27 digit fields, 26 of the 29 wrong and unflagged). What survives of such a box is
usually its top and bottom rules, in long pieces. Two long horizontal rules of one extent, a
field's height apart, with print at both their ends between them (what is left of the sides),
are a box. It is read like any other and flagged `open_box`: its sides are inferred.

Text cannot pass for that: the rules are taken from the ruling (`digitize.ruling`), where
only straight strokes longer than a letter are, and joined across gaps only once each piece
is long itself. The one exception is a light rule a bi-level scan left as short dashes, too
short for the ruling: those count only in a row of five or more at one pitch, which print
and the paper's grain do not make (`_periodic_dash_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from digitize.fields import Field, reading_order
from digitize.geometry import Box, Cell
from digitize.ruling import Ruling, components
from digitize.segmentation_params import FieldParams


@dataclass(frozen=True)
class _Rule:
    """A long horizontal rule: its rows and its extent."""

    y0: int
    y1: int
    x0: int
    x1: int
    # How far its true ends may lie beyond x0 and x1: a rule of dashes ends anywhere within
    # a pitch of its last dash.
    slack: int = 0


def find_open_boxes(
    fields: list[Field],
    ruling: Ruling,
    print_ink: np.ndarray,
    dpi: float,
    params: FieldParams = FieldParams(),
) -> list[Field]:
    """The fields, with a box (`Field.open`) for each pair of rules that bounds no field."""
    # On a noisy page the tolerant reading in the print ink is full of the paper's grain; its
    # reading in the dark ink (`Ruling.fallback`) is not.
    tolerant = ruling.fallback if ruling.fallback is not None else ruling.tolerant
    rules = _horizontal_rules(cv2.bitwise_or(ruling.solid, tolerant), dpi, params)
    if ruling.fallback is None:  # on a noisy page the paper's grain has dashes at any pitch
        rules += _periodic_dash_rules(print_ink, dpi, params)
    rules.sort(key=lambda r: r.y0)  # a box's own pair before the band below its bottom rule
    near = int(dpi * params.shared_border_in)
    taken = [f.box.grow(near) for f in fields]
    found = []
    for found_top in rules:
        pair = _rule_below(found_top, rules, print_ink, dpi, params)
        if pair is None:
            continue
        top, bottom = pair
        # In by as far as a side's remnant may reach, so that it is not read as a 1.
        inset = max(params.min_border_px, int(round(dpi * params.open_box_side_in)))
        x0, x1 = max(top.x0, bottom.x0) + inset, min(top.x1, bottom.x1) - inset
        interior = Box(x0, top.y1, x1, bottom.y0)
        if any(interior.overlaps(box) for box in taken):
            continue
        if not _has_sides(interior, print_ink, dpi, params, max(top.slack, bottom.slack)):
            continue
        outer = Box(x0 - inset, top.y0, x1 + inset, bottom.y1)
        found.append(Field(box=outer, cells=[Cell.of_box(interior)], kind="box", open=True))
        taken.append(outer.grow(near))
    return reading_order(fields + found, params) if found else fields


def _horizontal_rules(ruling: np.ndarray, dpi: float, params: FieldParams) -> list[_Rule]:
    """Horizontal rules at least `open_box_min_width_in` long, pieces up to
    `open_box_gap_in` apart joined (a worn rule's gaps, where a digit crossed a dashed one)."""
    piece = max(params.min_ruling_px, int(dpi * params.min_ruling_in))
    pieces = cv2.morphologyEx(ruling, cv2.MORPH_OPEN, np.ones((1, piece), np.uint8))
    gap = max(3, int(round(dpi * params.open_box_gap_in)))
    joined = cv2.morphologyEx(pieces, cv2.MORPH_CLOSE, np.ones((3, gap), np.uint8))
    count, labels, stats = components(joined)
    longest, thickest = dpi * params.open_box_min_width_in, dpi * params.open_box_max_rule_in
    rules = []
    for label, (x, y, w, h, _) in enumerate(stats[1:count], start=1):
        if w < longest or h > thickest:
            continue
        # Mostly rule, not mostly gap: noise's short pieces, joined, are no rule.
        own = (labels[y : y + h, x : x + w] == label) & (pieces[y : y + h, x : x + w] > 0)
        if np.count_nonzero(own.any(axis=0)) >= params.open_box_rule_cover * w:
            rules.append(_Rule(int(y), int(y + h), int(x), int(x + w)))
    return rules


def _periodic_dash_rules(print_ink: np.ndarray, dpi: float, params: FieldParams) -> list[_Rule]:
    """Horizontal rules left as short dashes at an even pitch, too short and too far apart
    for the ruling: a thin drop-out rule, slightly skewed, scanned bi-level survives only
    where it falls on one row of pixels, once every 1/tan(skew) pixels (1.5 degrees: every
    38 px, 8 px dashes; zoo dev seed 119, double boxes in light blue at 150 DPI: 31 of 39
    not found). Print or noise joined across such gaps is no rule: its pieces are not
    evenly spaced (`open_box_dash_pitch_spread`) or not as many (`open_box_min_dashes`)."""
    longest, thickest = dpi * params.open_box_min_width_in, dpi * params.open_box_max_rule_in
    # Pieces no taller than a rule, twice as long as tall at least (a line's piece; the
    # paper's grain is specks of 1-3 px either way), shorter than a rule the ruling has.
    _, _, stats, centres = cv2.connectedComponentsWithStats(print_ink, connectivity=8)
    x, y, width, height = (stats[1:, k] for k in range(4))
    dash = (height <= thickest) & (width >= 2 * height) & (width >= 3) & (width < longest)
    if np.count_nonzero(dash) < params.open_box_min_dashes:
        return []
    x0, x1 = x[dash], x[dash] + width[dash]
    y0, y1, cx, cy = y[dash], y[dash] + height[dash], centres[1:, 0][dash], centres[1:, 1][dash]
    gap = dpi * params.open_box_gap_in
    rules = []
    for row in _runs(np.argsort(cy), cy, params.open_box_dash_drift_px):
        for line in _runs(row[np.argsort(x0[row])], x0, gap, x1):
            left, right, top, bottom = (
                x0[line].min(),
                x1[line].max(),
                y0[line].min(),
                y1[line].max(),
            )
            if right - left < longest or bottom - top > thickest:
                continue
            pitch = _pitch(np.sort(cx[line]), params)
            if pitch:
                rules.append(_Rule(int(top), int(bottom), int(left), int(right), int(pitch)))
    return rules


def _runs(
    order: np.ndarray, start: np.ndarray, apart: float, end: np.ndarray | None = None
) -> list[np.ndarray]:
    """`order` (indices sorted by `start`) cut wherever the next one starts more than `apart`
    after the previous one ends (`end`, or its start)."""
    if order.size == 0:
        return []
    ends = (start if end is None else end)[order]
    cuts = np.flatnonzero(start[order][1:] - np.maximum.accumulate(ends)[:-1] > apart) + 1
    return np.split(order, cuts)


def _pitch(xs: np.ndarray, params: FieldParams) -> float | None:
    """The dashes' pitch, when enough of them (centres `xs`, sorted) follow one another at
    one pitch; None otherwise. A skewed rule's dashes recur within a pixel or two (zoo dev
    seed 119: 38 ± 1 px); a double rule's dash beside the other rule's makes a short step,
    and a dash lost to a digit a double one, so only most steps need be the pitch."""
    if xs.size < params.open_box_min_dashes:
        return None
    steps = np.diff(xs)
    pitch = float(np.median(steps))
    regular = np.abs(steps - pitch) <= params.open_box_dash_pitch_spread * pitch
    enough = np.count_nonzero(regular) + 1 >= params.open_box_min_dashes
    return pitch if enough and regular.mean() >= params.open_box_regular_share else None


def _rule_below(
    top: _Rule, rules: list[_Rule], print_ink: np.ndarray, dpi: float, params: FieldParams
) -> tuple[_Rule, _Rule] | None:
    """The nearest rule below `top` that overlaps it, when it lies a field's height below it
    and has top's extent, either rule's end taken on under ink (`_under_ink`): the pair;
    None otherwise."""
    # Past the other rule of a double border: nearer than a cell's side is no box's height.
    lowest = top.y1 + dpi * params.min_cell_side_in
    below = [r for r in rules if r.y0 >= lowest and min(r.x1, top.x1) > max(r.x0, top.x0)]
    if not below:
        return None
    bottom = min(below, key=lambda r: r.y0)
    if bottom.y0 - top.y1 > dpi * params.max_field_height_in:
        return None
    reach = int(round(dpi * params.open_box_under_ink_in))
    top, bottom = (
        _under_ink(top, bottom, print_ink, reach),
        _under_ink(bottom, top, print_ink, reach),
    )
    same = dpi * params.open_box_same_extent_in + max(top.slack, bottom.slack)
    if abs(bottom.x0 - top.x0) > same or abs(bottom.x1 - top.x1) > same:
        return None
    return top, bottom


def _under_ink(rule: _Rule, other: _Rule, print_ink: np.ndarray, reach: int) -> _Rule:
    """`rule`, its ends taken on to `other`'s, up to `reach` pixels, where ink lies across
    its band in every column between: a marker's digit written over a box's corner is taken
    out of the ruling with the rule under it (`digitize.ruling`), and the rule seems to end
    short (held-out 9050-04, spent: a thin box's bottom rule 26 px short under a blurred 1,
    no row at all)."""
    band = print_ink[rule.y0 : rule.y1]
    x0, x1 = rule.x0, rule.x1
    if x0 - reach <= other.x0 < x0 and band[:, other.x0 : x0].any(axis=0).all():
        x0 = other.x0
    if x1 < other.x1 <= x1 + reach and band[:, x1 : other.x1].any(axis=0).all():
        x1 = other.x1
    return _Rule(rule.y0, rule.y1, x0, x1, rule.slack)


def _has_sides(
    interior: Box, print_ink: np.ndarray, dpi: float, params: FieldParams, slack: int = 0
) -> bool:
    """Is there print at both ends of the band, over `open_box_side_share` of its height at
    least: what is left of a box's sides (a rule under a row of text has none)? Looked for
    up to `slack` further out where the rules' ends are that uncertain."""
    reach = max(2, int(round(dpi * params.open_box_side_in)))
    rows = print_ink[interior.y0 : interior.y1]
    for x, outward in ((interior.x0 - reach, -1), (interior.x1 + reach, 1)):  # the rules' ends
        near, far = sorted((x - outward * reach, x + outward * (reach + slack)))
        side = rows[:, max(0, near) : far]
        if side.size == 0 or np.count_nonzero(side.any(axis=1)) < (
            params.open_box_side_share * interior.height
        ):
            return False
    return True
