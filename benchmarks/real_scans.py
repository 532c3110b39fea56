"""Accuracy on the real scanned pages in ../shared/real-scans, against truths read by eye.

The pages (two NIST handwriting sample forms, a customer form with comb boxes, four Indonesian
election sheets) are used by path, never copied. Their truths are tests/real_scans/<page>.csv:
one row per printed field, `x0,y0,x1,y1,value,kind,note`, the box in page fractions, `kind`
`digits` (a number; empty value: an empty box), `letters` or `checkbox` (1 ticked, 0 empty).

    python benchmarks/real_scans.py [--scans DIR] [--workers 1] [--keep DIR]

Each page is scanned with the default settings and the installed model; each truth field is
matched to the output row whose box overlaps it most (intersection over the smaller box's
area at least 0.5, greedy, best overlap first, each row to at most one field).

Writes benchmarks/results/real_scans.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from digitize.output import read_table
from digitize.scan import ScanOptions, scan
from report import write_results

REPO = Path(__file__).resolve().parent.parent
SCANS = REPO.parent / "shared" / "real-scans"
TRUTHS = REPO / "tests" / "real_scans"
MIN_OVERLAP = 0.5
# Election sheets: a count is written in a block of three one-digit cells, where a writer may
# fill the unused leading cells with 0s, Xs or nothing; "007" and "7" are the same count there.
ZEROS_OPTIONAL_PREFIX = "kawalc1_"
BOX = ("x0", "y0", "x1", "y1")

Rows = pd.DataFrame | Iterable[Mapping[str, object]]


@dataclass(frozen=True)
class FieldOutcome:
    truth: dict[str, str]
    read: dict[str, str] | None  # the matched output row; None: missed

    @property
    def value(self) -> str:
        return "" if self.read is None else self.read.get("value", "")

    @property
    def flagged(self) -> bool:
        return self.read is not None and _true(self.read.get("needs_review", ""))

    @property
    def reasons(self) -> list[str]:
        return (
            []
            if self.read is None
            else [r for r in self.read.get("review_reasons", "").split(";") if r]
        )


@dataclass(frozen=True)
class PageScore:
    digit_fields: int = 0
    exact: int = 0
    flagged: int = 0  # found digit fields with needs_review, right or wrong
    unflagged_wrong: int = 0  # found, not exact, not flagged
    missed: int = 0  # no output row matched
    extra_rows: int = 0  # output rows matched to no truth field (of any kind)
    filled_read_empty: int = 0  # a written number read as an empty box, unflagged
    letter_fields: int = 0
    letters_not_digits: int = 0  # letter fields whose row says not_digits
    checkboxes: int = 0
    checkboxes_right: int = 0
    outcomes: tuple[FieldOutcome, ...] = field(default=(), compare=False, repr=False)

    def __add__(self, other: PageScore) -> PageScore:
        counts = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        return PageScore(**counts)


def score_page(truth_rows: Rows, read_rows: Rows, zeros_optional: bool = False) -> PageScore:
    """How one page's output rows came out against its truth rows (both as read_table gives
    them: text cells). zeros_optional: a digit field is also exact when both values are the
    same number ("007" and "7")."""
    truth, read = _records(truth_rows), _records(read_rows)
    matched = match_fields([_box(t) for t in truth], [_box(r) for r in read])
    outcomes = [
        FieldOutcome(t, read[matched[i]] if i in matched else None) for i, t in enumerate(truth)
    ]
    digits = [o for o in outcomes if o.truth["kind"] == "digits"]
    found = [o for o in digits if o.read is not None]
    right = [same_value(o.value, o.truth["value"], zeros_optional) for o in found]
    letters = [o for o in outcomes if o.truth["kind"] == "letters"]
    boxes = [o for o in outcomes if o.truth["kind"] == "checkbox"]
    return PageScore(
        digit_fields=len(digits),
        exact=sum(right),
        flagged=sum(o.flagged for o in found),
        unflagged_wrong=sum(not ok and not o.flagged for o, ok in zip(found, right)),
        missed=len(digits) - len(found),
        extra_rows=len(read) - len(matched),
        filled_read_empty=sum(
            o.truth["value"] != "" and o.value == "" and not o.flagged for o in found
        ),
        letter_fields=len(letters),
        letters_not_digits=sum("not_digits" in o.reasons for o in letters),
        checkboxes=len(boxes),
        checkboxes_right=sum(o.read is not None and o.value == o.truth["value"] for o in boxes),
        outcomes=tuple(outcomes),
    )


def match_fields(truth: list[tuple[float, ...]], read: list[tuple[float, ...]]) -> dict[int, int]:
    """Truth index -> read index: greedy, the largest overlap (intersection over the smaller
    box's area, then IoU) first, one to one, overlap at least MIN_OVERLAP."""
    candidates = []
    for t, a in enumerate(truth):
        for r, b in enumerate(read):
            inter = _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
            smaller = min(_area(a), _area(b))
            overlap = inter / smaller if smaller > 0 else 0.0
            if overlap >= MIN_OVERLAP:
                candidates.append((overlap, inter / (_area(a) + _area(b) - inter), t, r))
    matched: dict[int, int] = {}
    used: set[int] = set()
    for _, _, t, r in sorted(candidates, key=lambda c: (-c[0], -c[1], c[2], c[3])):
        if t not in matched and r not in used:
            matched[t] = r
            used.add(r)
    return matched


def same_value(read: str, truth: str, zeros_optional: bool = False) -> bool:
    if read == truth:
        return True
    return zeros_optional and read.isdigit() and truth.isdigit() and int(read) == int(truth)


def _records(rows: Rows) -> list[dict[str, str]]:
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    return [
        {str(k): "" if v is None else str(v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def _box(row: Mapping[str, str]) -> tuple[float, ...]:
    return tuple(float(row[c]) for c in BOX)


def _area(box: tuple[float, ...]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _true(text: str) -> bool:
    return text.strip().lower() in {"true", "1", "yes"}


# --- the benchmark --------------------------------------------------------------------------

HEADER = (
    "| page | digit fields | exact | flagged | unflagged wrong | missed | extra rows "
    "| filled read empty, unflagged | letters not_digits | checkboxes right | scan s |"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scans", type=Path, default=SCANS, help="the pages [../shared/real-scans]"
    )
    parser.add_argument("--truths", type=Path, default=TRUTHS, help="[tests/real_scans]")
    parser.add_argument("--workers", type=int, default=1, help="scan processes [1]")
    parser.add_argument("--keep", type=Path, help="keep each page's entries CSV here")
    args = parser.parse_args()

    truths = sorted(args.truths.glob("*.csv"))
    if not truths:
        parser.error(f"no truth CSVs in {args.truths}")
    results: list[tuple[str, PageScore, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = args.keep or Path(scratch)
        out_dir.mkdir(parents=True, exist_ok=True)
        for truth in truths:
            page = args.scans / f"{truth.stem}.png"
            if not page.is_file():
                parser.error(f"{page} not found (--scans)")
            entries = out_dir / f"{truth.stem}.csv"
            started = time.perf_counter()
            scan(ScanOptions(inputs=[str(page)], out=entries, workers=args.workers))
            seconds = time.perf_counter() - started
            zeros = truth.stem.startswith(ZEROS_OPTIONAL_PREFIX)
            results.append(
                (truth.stem, score_page(read_table(truth), read_table(entries), zeros), seconds)
            )

    total = sum((s for _, s, _ in results), PageScore())
    write_results(
        "real_scans",
        "Accuracy on real scanned pages",
        [
            f"The {len(results)} pages of ../shared/real-scans (real handwriting, used by path), "
            f"scanned one at a time with the default settings, the installed model and "
            f"{args.workers} worker(s); truths read by eye in tests/real_scans/*.csv. "
            f"Code: {code_state()}.",
            "",
            "A truth field is matched to the output row whose box overlaps it most "
            "(intersection over the smaller box's area >= 0.5, each row to one field at most). "
            "Digit fields (numbers; an empty box is a digit field whose truth is empty): "
            "*exact* read exactly right — on the election sheets (kawalc1_*) also when both "
            "values are the same number, as `007` and `7`, since writers fill unused leading "
            "cells with 0s, Xs or nothing; *flagged* the found fields with `needs_review` "
            "(right or wrong); *unflagged wrong* found, not exact and not flagged; *missed* no "
            "row matched. *Extra rows*: output rows matching no truth field of any kind (on the "
            "election sheets the officials' name and signature cells are not annotated, so "
            "rows read there are extra). *Filled read empty*: a written number read as an empty "
            "box without a flag. Letter fields should be flagged `not_digits`; checkboxes read "
            "`1` or `0`.",
            "",
            HEADER,
            "|" + "---|" * (HEADER.count("|") - 1),
            *[table_row(name, s, seconds) for name, s, seconds in results],
            table_row("**all**", total, sum(seconds for _, _, seconds in results)),
            "",
            "### Digit fields not read exactly",
            "",
            "| page | truth | read | flagged | review reasons | note |",
            "|---|---|---|---|---|---|",
            *[
                mistake_row(name, o)
                for name, s, _ in results
                for o in s.outcomes
                if o.truth["kind"] == "digits"
                and not (
                    o.read is not None
                    and same_value(
                        o.value, o.truth["value"], name.startswith(ZEROS_OPTIONAL_PREFIX)
                    )
                )
            ],
        ],
    )


def code_state() -> str:
    """The commit scanned with, and whether digitize/ had uncommitted changes then."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "digitize"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:  # no git
        return "unknown commit"
    if not head:
        return "unknown commit"
    return f"commit {head}" + (" with uncommitted changes in digitize/" if dirty else "")


def table_row(name: str, s: PageScore, seconds: float) -> str:
    cells = [
        name,
        str(s.digit_fields),
        count(s.exact, s.digit_fields),
        count(s.flagged, s.digit_fields),
        count(s.unflagged_wrong, s.digit_fields),
        str(s.missed),
        str(s.extra_rows),
        str(s.filled_read_empty),
        f"{s.letters_not_digits} / {s.letter_fields}" if s.letter_fields else "–",
        f"{s.checkboxes_right} / {s.checkboxes}" if s.checkboxes else "–",
        f"{seconds:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


def mistake_row(name: str, o: FieldOutcome) -> str:
    read = "(missed)" if o.read is None else f"`{o.value}`" if o.value else "(empty)"
    truth = f"`{o.truth['value']}`" if o.truth["value"] else "(empty)"
    flagged = "–" if o.read is None else "yes" if o.flagged else "**no**"
    note = o.truth.get("note", "").replace("|", "/")
    return f"| {name} | {truth} | {read} | {flagged} | {' '.join(o.reasons)} | {note} |"


def count(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.0f} %)" if whole else "–"


if __name__ == "__main__":
    main()
