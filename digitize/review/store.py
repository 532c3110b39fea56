"""The review state of an entries CSV: which fields to show, in what order, and the decisions.

Decisions live in the entries CSV itself, in two columns added after the scan's own:
`reviewed` ("" not yet, "accepted", "corrected", "illegible") and `reviewed_value` (the value
the person confirmed; empty when illegible). `value` is never changed, so a spreadsheet shows
both. Every decision is saved at once, atomically, so closing the tab or Ctrl-C loses nothing
and the next review resumes with the fields still undecided.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from digitize.messages import one_line
from digitize.output import COLUMNS, read_entries, write_csv
from digitize.reading import DEFAULT_REVIEW_BELOW

REVIEW_COLUMNS = ["reviewed_value", "reviewed"]
ACCEPTED, CORRECTED, ILLEGIBLE = "accepted", "corrected", "illegible"
ORDERS = ("confidence", "digit", "file")
# Written back as numbers, as `digitize scan` wrote them (the CSV quotes text, not numbers).
VALUE_PATTERN = re.compile(r"[0-9]{0,64}")  # a field holds digits only; empty = a blank field


class ReviewError(Exception):
    """The entries CSV (or a corrections CSV) cannot be used; the message is one line."""


@dataclass(frozen=True)
class Item:
    """One field as the review page shows it."""

    row: int  # index into the CSV's rows: the only way the page addresses a field
    file: str
    page: str
    field: str
    value: str
    confidence: float
    digits: list[tuple[str, float]]  # (predicted digit, its confidence)
    group: str  # predicted digit of the least certain digit ("" when there are no digits)
    why: str  # why the scan flagged it, as far as the CSV tells ("" when not flagged)
    reviewed: str
    reviewed_value: str

    def as_json(self) -> dict:
        data = asdict(self)
        data["digits"] = [{"digit": d, "confidence": c} for d, c in self.digits]
        return data


class ReviewStore:
    """The rows of one entries CSV and the decisions on them; safe to use from several threads."""

    def __init__(self, path: Path, rows: list[dict], columns: list[str], review_all: bool = False):
        self.path = Path(path)
        self.rows = rows
        self.columns = columns
        self.review_all = review_all
        self.decisions = 0  # made through this store (this session)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, review_all: bool = False) -> ReviewStore:
        path = Path(path)
        if not path.exists():
            raise ReviewError(f"{path}: no such file")
        if path.is_dir():
            raise ReviewError(f"{path}: is a directory; give the entries CSV")
        try:
            frame = read_entries(path)
        except ValueError as error:  # pandas' parse errors and UnicodeDecodeError
            raise ReviewError(f"{path}: not a CSV file ({one_line(error)})") from None
        except OSError as error:
            raise ReviewError(f"{path}: cannot read ({error.strerror or error})") from None
        missing = [column for column in COLUMNS if column not in frame.columns]
        if missing:
            raise ReviewError(f"{path}: not an entries CSV written by `digitize scan` "
                              f"(no column {', '.join(missing)})")
        columns = list(frame.columns) + [c for c in REVIEW_COLUMNS if c not in frame.columns]
        rows = frame.reindex(columns=columns, fill_value="").to_dict("records")
        return cls(path, rows, columns, review_all)

    # --- what to review --------------------------------------------------------------------

    def in_review(self, row: int) -> bool:
        """Whether the page may show (and decide) this row: flagged, or any with --all."""
        if not 0 <= row < len(self.rows):
            return False
        return self.review_all or self.rows[row]["needs_review"] == "true"

    def review_rows(self) -> list[int]:
        return [index for index in range(len(self.rows)) if self.in_review(index)]

    def counts(self) -> tuple[int, int]:
        """(reviewed, total) among the fields to review."""
        rows = self.review_rows()
        return sum(bool(self.rows[i]["reviewed"]) for i in rows), len(rows)

    def items(self, order: str = "confidence") -> list[Item]:
        """The fields to review, reviewed or not, in `order`:
        "confidence": least confident first;
        "digit": grouped by the predicted value of each field's least certain digit (0-9, then
        fields without digits), least confident first within a group: a person checks all the
        doubtful 7s together;
        "file": as in the CSV."""
        if order not in ORDERS:
            raise ValueError(f"unknown order {order!r} (one of {', '.join(ORDERS)})")
        items = [self.item(index) for index in self.review_rows()]
        if order == "confidence":
            items.sort(key=lambda item: item.confidence)  # stable: CSV order among equals
        elif order == "digit":
            items.sort(key=lambda item: (item.group == "", item.group, item.confidence))
        return items

    def item(self, index: int) -> Item:
        row = self.rows[index]
        digits = list(zip(row["value"], _confidences(row["digit_confidences"])))
        least_certain = min(digits, key=lambda pair: pair[1])[0] if digits else ""
        return Item(
            row=index, file=row["file"], page=row["page"], field=row["field"],
            value=row["value"], confidence=_float(row["confidence"]), digits=digits,
            group=least_certain, why=_why_flagged(row["needs_review"] == "true", digits),
            reviewed=row["reviewed"], reviewed_value=row["reviewed_value"],
        )

    # --- decisions -------------------------------------------------------------------------

    def decide(self, index: int, value: str | None) -> Item:
        """Record a decision from the review page and save the CSV at once.
        `value` is what the person confirmed (digits); None marks the field illegible."""
        if not self.in_review(index):
            raise KeyError(index)
        with self._lock:
            before = {column: self.rows[index][column] for column in REVIEW_COLUMNS}
            self.record(index, value)
            try:
                self.save()
            except BaseException:
                self.rows[index].update(before)  # what the page shows must match the file
                raise
            self.decisions += 1
            return self.item(index)

    def record(self, index: int, value: str | None) -> str:
        """Set one row's decision in memory (any row; `save` writes it). Returns the status."""
        if value is not None and not VALUE_PATTERN.fullmatch(value):
            raise ValueError("a value is digits only (at most 64)")
        row = self.rows[index]
        if value is None:
            status, value = ILLEGIBLE, ""
        else:
            status = ACCEPTED if value == row["value"] else CORRECTED
        row["reviewed"], row["reviewed_value"] = status, value
        return status

    def save(self) -> None:
        """Rewrite the CSV atomically with the decisions (`value` untouched)."""
        write_csv(self.rows, self.path, self.columns)

    def labelled_rows(self) -> list[dict]:
        """Rows whose value a person confirmed (accepted or corrected) and that hold digits:
        the ones that can teach the model."""
        return [row for row in self.rows
                if row["reviewed"] in (ACCEPTED, CORRECTED) and row["reviewed_value"]]


def _why_flagged(flagged: bool, digits: list[tuple[str, float]]) -> str:
    """The CSV keeps the digits' confidences but not the segmentation's doubts: a flagged
    field whose digits are all sure was flagged for how its ink was cut into digits."""
    if not flagged:
        return ""
    if digits:
        position, (digit, confidence) = min(enumerate(digits, 1), key=lambda pair: pair[1][1])
        if confidence < DEFAULT_REVIEW_BELOW:
            return f"Flagged: digit {position}, read as {digit}, is {confidence:.0%} sure"
    return ("Flagged for its segmentation: the ink may be cut into digits wrongly "
            "(one digit or two, ink on the border, two marks in one cell)")


def _confidences(text: str) -> list[float]:
    return [_float(part) for part in text.split(";") if part.strip()]


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0  # edited by hand into something else: show it first, it needs a look
