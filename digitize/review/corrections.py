"""`digitize review entries.csv --apply corrections.csv`: decisions made in a spreadsheet.

The corrections CSV has columns file, page, field, reviewed_value (others are ignored). A row
is matched to the entries by (file, page, field) and recorded like a decision on the review
page: "accepted" when reviewed_value equals the value read, "corrected" otherwise, and
"illegible" for the word illegible (or "?"). A blank reviewed_value is no decision. The
entries CSV is saved once, atomically, after all rows are merged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from digitize.output import read_table
from digitize.records import ReviewStatus
from digitize.review.store import ReviewStore

CORRECTION_COLUMNS = ["file", "page", "field", "reviewed_value"]
ILLEGIBLE_WORDS = {"illegible", "?"}


@dataclass
class ApplyResult:
    counts: dict[ReviewStatus, int] = field(default_factory=lambda: dict.fromkeys(ReviewStatus, 0))
    blank: int = 0  # rows without a reviewed_value: no decision
    unknown: int = 0  # rows naming no field of the entries CSV
    invalid: int = 0  # reviewed_value that is not digits

    @property
    def applied(self) -> int:
        return sum(self.counts.values())

    def describe(self, entries: Path) -> str:
        text = (
            f"Applied {self.applied} decisions to {entries} ("
            + ", ".join(f"{count} {status}" for status, count in self.counts.items())
            + ")"
        )
        ignored = [
            f"{count} {what}"
            for count, what in (
                (self.blank, "blank"),
                (self.unknown, "unknown"),
                (self.invalid, "invalid"),
            )
            if count
        ]
        return text + (f"; ignored {', '.join(ignored)}" if ignored else "")


def apply_corrections(
    store: ReviewStore, corrections: Path, warn: Callable[[str], None]
) -> ApplyResult:
    """Merge a corrections CSV into the store and save it; `warn` gets one line per bad row.
    CsvError (one line) when the corrections CSV cannot be used."""
    rows = read_table(corrections, CORRECTION_COLUMNS, what="--apply").to_dict("records")
    where = _index(store)
    result = ApplyResult()
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        line = f"{corrections}:{number}"
        text = row["reviewed_value"].strip()
        if not text:
            result.blank += 1
            continue
        page = _page(row["page"])
        key = (row["file"], page, row["field"].strip())
        if key not in where:
            result.unknown += 1
            shown = row["page"].strip() if page is None else page
            warn(f"{line}: no field {key[2]!r} on page {shown} of {key[0]!r} in {store.path}")
            continue
        value = None if text.lower() in ILLEGIBLE_WORDS else text
        try:
            for index in where[key]:
                status = store.record(index, value)
        except ValueError:
            result.invalid += 1
            warn(f"{line}: reviewed_value {text!r} is not digits (nor 'illegible')")
            continue
        result.counts[status] += 1
    if result.applied:
        store.save()
    return result


def _index(store: ReviewStore) -> dict[tuple[str, int | None, str], list[int]]:
    where: dict[tuple[str, int | None, str], list[int]] = {}
    for index, entry in enumerate(store.entries):
        key = (entry.result.file, entry.result.page, entry.result.field)
        where.setdefault(key, []).append(index)
    return where


def _page(text: str) -> int | None:
    # A spreadsheet may write page 1 as "1.0".
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None
