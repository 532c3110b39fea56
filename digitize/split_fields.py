"""Fields that may be one field cut in two: each read alone, each wrong, and each sure.

A box's border lost in a scanner's noise, a marker stroke closing a hole where no rule is, a
separated comb whose cells a digit's stroke cut shorter: the field finders then return the
pieces of one field as fields side by side, almost touching, and each piece is read
confidently (zoo dev 101-02: a comb read "186" and "17" for 18662, the first unflagged;
held-out 9049-03, spent: a dotted box on a noisy page read "3306" and "1775" for 33001775).
Fields a form prints in one row stand further apart than that.
"""

from __future__ import annotations

from collections.abc import Sequence

from digitize.geometry import Box
from digitize.records import Doubt, ReviewReason

# Two fields this close, in their height, are doubted. Measured between fields found side by
# side in one row (deskewed page pixels): pieces of one field 0.12-0.23 of their height apart
# on the dev seeds and 0.32 on held-out 9049-03 (looked at after its one measurement);
# separate fields 0.52 (ink beside a box) and 0.63 or more (boxes and combs).
MAX_GAP_OF_HEIGHT = 0.4
# Side by side: they share this much of the shorter one's height.
MIN_ROW_OVERLAP = 0.7
# Only fields read as free-standing numbers; a table's cells touch by design, a checkbox
# is no number.
KINDS = frozenset({"box", "comb", "unboxed"})


def cut_in_two(
    boxes: Sequence[Box], kinds: Sequence[str], inked: Sequence[bool]
) -> list[Doubt | None]:
    """For each field (its box, its kind, whether it holds marks), a doubt when another
    field holding marks stands beside it in its row, nearer than `MAX_GAP_OF_HEIGHT` of the
    taller one's height; else None. An empty box beside a number takes none of its digits."""
    doubts: list[Doubt | None] = [None] * len(boxes)
    pieces = [k in KINDS and ink for k, ink in zip(kinds, inked, strict=True)]
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes):
            if j <= i or not (pieces[i] and pieces[j]):
                continue
            gap = _side_gap(a, b)
            if gap is None:
                continue
            detail = f"another field {gap} px beside it in its row: they may be one field"
            for k in (i, j):
                doubts[k] = doubts[k] or Doubt(ReviewReason.SEGMENTATION, detail)
    return doubts


def _side_gap(a: Box, b: Box) -> int | None:
    """The paper between two boxes side by side in one row, when there is some and little
    enough to doubt them; else None."""
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    if overlap < MIN_ROW_OVERLAP * min(a.height, b.height):
        return None
    gap = max(a.x0, b.x0) - min(a.x1, b.x1)
    # Fields whose borders meet are cut apart by the form's own rule: a table row's column
    # blocks (the election sheet hal1: 4 numbers doubted for it). Pieces stand on paper.
    if gap <= 0 or gap > MAX_GAP_OF_HEIGHT * max(a.height, b.height):
        return None
    return gap
