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

import pandas as pd

from digitize.output import unneutralize
from digitize.messages import one_line
from digitize.review.store import (
    ACCEPTED, CORRECTED, ILLEGIBLE, ReviewError, ReviewStore,
)

CORRECTION_COLUMNS = ["file", "page", "field", "reviewed_value"]
ILLEGIBLE_WORDS = {"illegible", "?"}


@dataclass
class ApplyResult:
    counts: dict[str, int] = field(default_factory=lambda: {ACCEPTED: 0, CORRECTED: 0, ILLEGIBLE: 0})
    blank: int = 0  # rows without a reviewed_value: no decision
    unknown: int = 0  # rows naming no field of the entries CSV
    invalid: int = 0  # reviewed_value that is not digits

    @property
    def applied(self) -> int:
        return sum(self.counts.values())

    def describe(self, entries: Path) -> str:
        text = (f"Applied {self.applied} decisions to {entries} ("
                + ", ".join(f"{count} {status}" for status, count in self.counts.items()) + ")")
        ignored = [f"{count} {what}" for count, what in (
            (self.blank, "blank"), (self.unknown, "unknown"), (self.invalid, "invalid"))
            if count]
        return text + (f"; ignored {', '.join(ignored)}" if ignored else "")


def apply_corrections(store: ReviewStore, corrections: Path, warn: Callable[[str], None]) -> ApplyResult:
    """Merge a corrections CSV into the store and save it; `warn` gets one line per bad row."""
    frame = read_corrections(corrections)
    where = _index(store)
    result = ApplyResult()
    for number, row in enumerate(frame.to_dict("records"), start=2):  # line 1 is the header
        line = f"{corrections}:{number}"
        text = row["reviewed_value"].strip()
        if not text:
            result.blank += 1
            continue
        key = (row["file"], _page(row["page"]), row["field"].strip())
        if key not in where:
            result.unknown += 1
            warn(f"{line}: no field {key[2]!r} on page {key[1]} of {key[0]!r} in {store.path}")
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


def read_corrections(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ReviewError(f"--apply {path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except ValueError as error:  # parse errors, empty files and bad encodings
        raise ReviewError(f"--apply {path}: not a CSV file ({one_line(error)})") from None
    except OSError as error:
        raise ReviewError(f"--apply {path}: cannot read ({error.strerror or error})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [column for column in CORRECTION_COLUMNS if column not in frame.columns]
    if missing:
        raise ReviewError(f"--apply {path}: needs columns {', '.join(CORRECTION_COLUMNS)} "
                          f"(missing {', '.join(missing)})")
    frame = frame[CORRECTION_COLUMNS].copy()
    for column in CORRECTION_COLUMNS:
        # Cells copied from an entries CSV may carry its spreadsheet-safety apostrophe.
        frame[column] = frame[column].map(unneutralize)
    return frame


def _index(store: ReviewStore) -> dict[tuple[str, str, str], list[int]]:
    where: dict[tuple[str, str, str], list[int]] = {}
    for index, row in enumerate(store.rows):
        where.setdefault((row["file"], _page(row["page"]), row["field"]), []).append(index)
    return where


def _page(text: str) -> str:
    # A spreadsheet may write page 1 as "1.0".
    try:
        return str(int(float(text)))
    except (ValueError, OverflowError):
        return text.strip()
