"""A page's ruling: the printed lines of its boxes, combs and tables, as one binary image.

Fields are the holes in it (`digitize.fields`), so every way a printed border is drawn must
come out here as a closed line:

- solid rules, thin or thick: long straight strokes, found by morphological opening;
- dashed, dotted and worn rules: strokes bridged across short gaps first, kept only where
  the bridged line stays as thin as a printed rule (handwriting and printed text, bridged,
  become blobs and are dropped);
- rounded corners: the curved ink joining two rules, taken up where it touches them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from digitize.segmentation_params import FieldParams


@dataclass(frozen=True)
class Ruling:
    """Two readings of the page's printed lines, 255 where they are.

    `solid`: solid rules only, as straight as print. `tolerant`: also dashed, dotted and worn
    rules bridged across their gaps, and rounded corners; it finds more boxes, and bridges
    some handwriting too, so fields come from `solid` first and from `tolerant` only where
    `solid` has none (`digitize.fields`).
    """

    solid: np.ndarray
    tolerant: np.ndarray
    # The tolerant reading in the dark ink alone, where the tolerant one was read in the
    # print ink: its holes count only where neither other reading has one.
    fallback: np.ndarray | None = None


def find_ruling(
    ink: np.ndarray,
    dpi: float,
    params: FieldParams = FieldParams(),
    print_ink: np.ndarray | None = None,
    gray: np.ndarray | None = None,
) -> Ruling:
    """Long horizontal and vertical strokes (box borders, table rules), slightly thickened.
    The tolerant ruling is looked for in `print_ink` when given: print lighter than ink, as
    drop-out colour boxes are, still rules the page; its solid rules also in the `gray` page
    where print lighter still runs on as a line (`_faint_rules`)."""
    # Measured on the ink: print's light halo makes every stroke thicker in `print_ink`.
    width = _thick_stroke_px(dpi, params)
    strokes = _thick_strokes(ink, width, dpi, params)
    handwriting = ink  # and print as dark
    noisy = print_ink is not None and cv2.countNonZero(print_ink) > (
        params.noisy_print_ratio * cv2.countNonZero(ink)
    )
    ink = cv2.bitwise_and(ink, cv2.bitwise_not(strokes))
    taken = strokes  # what the tolerant ruling's ink lost
    if print_ink is not None:
        taken = cv2.dilate(strokes, np.ones((5, 5), np.uint8))
        print_ink = cv2.bitwise_and(print_ink, cv2.bitwise_not(taken))
    length = max(params.min_ruling_px, int(dpi * params.min_ruling_in))
    gap = max(3, int(round(dpi * params.dash_gap_in)))
    thin = max(2, int(round(dpi * params.max_dashed_rule_in)))
    rejoin = 3 * width + 2  # a stroke's width and the rims taken with it
    solid = [
        _rejoined(_solid_rules(ink, length, params, along_rows), strokes, rejoin, along_rows)
        for along_rows in (True, False)
    ]
    straight = solid
    if print_ink is not None:
        straight = [
            _solid_rules(print_ink, length, params, along_rows) for along_rows in (True, False)
        ]
    if gray is not None:
        # The faint rules are light lines only: handwriting's light rims, grown straighter
        # by the averaging, cut an election sheet's comb in two (a stroke of its 2 a divider).
        dark = cv2.bitwise_or(taken, cv2.dilate(handwriting, np.ones((5, 5), np.uint8)))
        straight = [
            cv2.bitwise_or(rules, _faint_rules(gray, dark, length, params, along_rows))
            for rules, along_rows in zip(straight, (True, False), strict=True)
        ]
    bridging = _Bridging(taken, gap, thin, length, rejoin + 4 + 2 * gap)
    square = np.ones((params.ruling_bridge_px, params.ruling_bridge_px), np.uint8)
    fallback = None
    if noisy:
        # Print ink is all but the paper: on grey paper with a scanner's noise it is specks
        # everywhere, and bridged, they fill a dashed box (zoo dev seed 102, 150 DPI: 5 boxes
        # missed); the dark ink alone still holds its dashes.
        fallback = _closed(_tolerant(ink, solid, bridging, dpi, params), square)
    return Ruling(
        solid=_closed(cv2.bitwise_or(*solid), square),
        tolerant=_closed(
            _tolerant(ink if print_ink is None else print_ink, straight, bridging, dpi, params),
            square,
        ),
        fallback=fallback,
    )


@dataclass(frozen=True)
class _Bridging:
    """How dashed and dotted rules are bridged, the same in every reading of the page."""

    taken: np.ndarray  # the thick strokes taken out of the ink
    gap: int
    thin: int
    length: int
    rejoin: int


def _tolerant(
    ink: np.ndarray,
    straight: list[np.ndarray],
    bridging: _Bridging,
    dpi: float,
    params: FieldParams,
) -> np.ndarray:
    """The straight rules (rows, columns) with the dashed and dotted rules bridged in `ink`,
    and rounded corners."""
    horizontal, vertical = (
        _rejoined(
            cv2.bitwise_or(
                rules,
                _bridged_rules(ink, bridging.gap, bridging.thin, bridging.length, along_rows),
            ),
            # A dotted rule's gap beside a stroke taken out is bridged with it.
            cv2.dilate(bridging.taken, _line(2 * bridging.gap + 1, along_rows)),
            bridging.rejoin,
            along_rows,
        )
        for rules, along_rows in zip(straight, (True, False), strict=True)
    )
    tolerant = cv2.bitwise_or(horizontal, vertical)
    return cv2.bitwise_or(tolerant, _rounded_corners(horizontal, vertical, ink, dpi, params))


def _closed(ruling: np.ndarray, square: np.ndarray) -> np.ndarray:
    # Closing bridges the small gaps of a worn or noisy border, so its hole is closed.
    return cv2.morphologyEx(ruling, cv2.MORPH_CLOSE, square)


def _thick_stroke_px(dpi: float, params: FieldParams) -> int:
    return max(3, int(round(dpi * params.thick_stroke_in)))


def _rejoined(rules: np.ndarray, strokes: np.ndarray, span: int, along_rows: bool) -> np.ndarray:
    """The rules joined again across the thick strokes taken out of the ink: where a digit
    was written over a divider or a border, the rule goes on under it."""
    closed = cv2.morphologyEx(rules, cv2.MORPH_CLOSE, _line(span, along_rows))
    return cv2.bitwise_or(rules, cv2.bitwise_and(closed, strokes))


def _thick_strokes(ink: np.ndarray, width: int, dpi: float, params: FieldParams) -> np.ndarray:
    """255 on strokes too thick for print and too short for a rule: a marker's digits. Their
    straight strokes are as long as a comb's dividers, and as ruling they cut the box they are
    written in into pieces that are no box (zoo, 150 DPI, marker: 17 of 111 fields missed). A
    thick printed border is as thick but runs on: it stays."""
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    cores = cv2.morphologyEx(ink, cv2.MORPH_OPEN, disk)
    _, labels, stats = components(cores)
    longest = dpi * params.thick_rule_min_in
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    # A thick rule's core is thin across its direction, however broken up by a wavering scan
    # (the NIST form's 0.7 mm borders); a digit's spreads both ways.
    across = np.minimum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    short = np.flatnonzero((extent < longest) & (across > params.thick_stroke_spread * width))
    short = short[short > 0]
    if not len(short):  # nothing as thick as a marker: no rule is in question
        return np.zeros_like(ink)
    cores = chosen_components(labels, stats, short)
    # The cores grown back by the disk and a pixel: the stroke's edge goes too; but not
    # a rule the stroke lies on (a straight run of ink as long as a rule, either way), or the
    # box it is written in would open there.
    strokes = cv2.dilate(cores, np.ones((width + 2, width + 2), np.uint8))
    rules = [_solid_rules(ink, int(round(longest)), params, along) for along in (True, False)]
    sides = [
        _sides_at_ends(ink, long_rules, width, dpi, params, along)
        for long_rules, along in zip(rules, (True, False), strict=True)
    ]
    kept = cv2.bitwise_or(cv2.bitwise_or(*rules), cv2.bitwise_or(*sides))
    return cv2.bitwise_and(strokes, cv2.bitwise_not(kept))


def _sides_at_ends(
    ink: np.ndarray,
    long_rules: np.ndarray,
    width: int,
    dpi: float,
    params: FieldParams,
    along_rows: bool,
) -> np.ndarray:
    """The short straight strokes across `long_rules` (along the rows or the columns) that
    meet one at its end: a thick box's sides, shorter than a rule, whose corners are as thick
    and spread as a marker's stroke (zoo dev seed 104, 0.8 mm boxes at 200 DPI: the corners
    taken out opened 6 of 12 boxes). A digit's stroke meets a rule along its length, not at
    its end, and stays a stroke."""
    across = _solid_rules(
        ink, max(params.min_ruling_px, int(dpi * params.min_ruling_in)), params, not along_rows
    )
    ends = np.zeros_like(ink)
    _, _, stats = components(long_rules)
    reach = 2 * width  # a corner's side lies within a stroke's width or two of the rule's end
    for x, y, w, h, _ in stats[1:]:
        if along_rows:
            for end in (x, x + w):
                ends[y : y + h, max(0, end - reach) : end + reach] = 255
        else:
            for end in (y, y + h):
                ends[max(0, end - reach) : end + reach, x : x + w] = 255
    _, labels, stats = components(across)
    meeting = np.unique(labels[(ends > 0) & (across > 0)])
    return chosen_components(labels, stats, meeting[meeting > 0])


def components(image: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected components: their count, labels and stats. 16-bit labels while they fit:
    a letter page's statistics took 44 ms with 32-bit labels, 13 ms with 16-bit (OpenCV 5)."""
    try:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            image, connectivity=8, ltype=cv2.CV_16U
        )
    except cv2.error:  # over 65,535 components (speckle): OpenCV refuses, it never wraps
        count, labels, stats, _ = cv2.connectedComponentsWithStats(image, connectivity=8)
    return count, labels, stats


def chosen_components(labels: np.ndarray, stats: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """255 on the components `chosen` of a labelling, each set within its own bounding box: a
    few small components of a page (np.isin on the page's labels took 30 ms, a lookup table
    over them 14)."""
    chosen_ink = np.zeros(labels.shape, np.uint8)
    for label in chosen:
        x, y, width, height = stats[label, :4]
        box = (slice(y, y + height), slice(x, x + width))
        chosen_ink[box][labels[box] == label] = 255
    return chosen_ink


def _line(size: int, along_rows: bool) -> np.ndarray:
    """A one-pixel line `size` long, along the rows (horizontal) or the columns."""
    return np.ones((1, size) if along_rows else (size, 1), np.uint8)


def _solid_rules(ink: np.ndarray, length: int, params: FieldParams, along_rows: bool) -> np.ndarray:
    # A printed line one or two pixels thin wanders by a pixel in the scan: look for straight
    # strokes in the ink thickened across them, then keep only the ink itself.
    thickened = cv2.dilate(ink, _line(params.ruling_thicken_px, not along_rows))
    lines = cv2.morphologyEx(thickened, cv2.MORPH_OPEN, _line(length, along_rows))
    return cv2.bitwise_and(lines, ink)


def _faint_rules(
    gray: np.ndarray, dark: np.ndarray, length: int, params: FieldParams, along_rows: bool
) -> np.ndarray:
    """Solid rules too light for print ink: pixels up to `lightest_rule`, away from `dark`
    ink, whose grey, averaged over a rule's length along the direction, is as light. Paper
    noise that light is dense (cream paper at 150 DPI) but averages out to paper; a faint
    line stays a line."""
    # Averaged on either side of each pixel, so a line's ends, a box's corners, stay in it.
    size = (length, 1) if along_rows else (1, length)
    ends = ((length - 1, 0), (0, 0)) if along_rows else ((0, length - 1), (0, 0))
    along = cv2.min(*(cv2.blur(gray, size, anchor=anchor) for anchor in ends))
    light = cv2.bitwise_and(_as_light(gray, params), _as_light(along, params))
    return _solid_rules(cv2.bitwise_and(light, cv2.bitwise_not(dark)), length, params, along_rows)


def _as_light(gray: np.ndarray, params: FieldParams) -> np.ndarray:
    """255 where the grey is no lighter than `lightest_rule`."""
    return cv2.threshold(gray, params.lightest_rule, 255, cv2.THRESH_BINARY_INV)[1]


def _bridged_rules(
    ink: np.ndarray, gap: int, thin: int, length: int, along_rows: bool
) -> np.ndarray:
    """Dashed, dotted and worn rules in one direction, bridged across their gaps (the bridges
    kept, so the box's hole closes).

    Only ink as thin across the direction as a printed rule is bridged: the perpendicular
    borders, and the upright strokes of digits, are not joined to it; and what bridging
    makes thick (letters of print or handwriting side by side) is dropped, with a rule's
    width around it.
    """
    thick_across = cv2.morphologyEx(ink, cv2.MORPH_OPEN, _line(thin + 1, not along_rows))
    pieces = cv2.bitwise_and(ink, cv2.bitwise_not(thick_across))
    lines = cv2.morphologyEx(pieces, cv2.MORPH_CLOSE, _line(gap, along_rows))
    lines = cv2.morphologyEx(lines, cv2.MORPH_OPEN, _line(length, along_rows))
    blobs = cv2.morphologyEx(lines, cv2.MORPH_OPEN, _line(thin + 1, not along_rows))
    blobs = cv2.dilate(blobs, np.ones((2 * thin + 1, 2 * thin + 1), np.uint8))
    lines = cv2.bitwise_and(lines, cv2.bitwise_not(blobs))
    return cv2.morphologyEx(lines, cv2.MORPH_OPEN, _line(length, along_rows))


def _rounded_corners(
    horizontal: np.ndarray, vertical: np.ndarray, ink: np.ndarray, dpi: float, params: FieldParams
) -> np.ndarray:
    """The ink where a horizontal and a vertical rule both end within `corner_reach_in`: a
    rounded corner's arc, which no straight opening keeps. A comb's dividers end on a rule
    that goes on, so nothing is taken inside a comb."""
    reach = max(1, int(round(dpi * params.corner_reach_in)))
    square = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    near_ends = [
        cv2.dilate(_ends(rules, along_rows), square)
        for rules, along_rows in ((horizontal, True), (vertical, False))
    ]
    return cv2.bitwise_and(ink, cv2.bitwise_and(*near_ends))


def _ends(rules: np.ndarray, along_rows: bool) -> np.ndarray:
    """The pixels of `rules` with no rule pixel next to them on one side along the direction."""
    before = np.zeros_like(rules)
    after = np.zeros_like(rules)
    if along_rows:
        before[:, 1:], after[:, :-1] = rules[:, :-1], rules[:, 1:]
    else:
        before[1:], after[:-1] = rules[:-1], rules[1:]
    inner = cv2.bitwise_and(before, after)
    return cv2.bitwise_and(rules, cv2.bitwise_not(inner))
