"""The review state of an entries CSV: which fields to show, in what order, and the decisions.

Decisions live in the entries CSV itself, in the review columns `digitize.output` writes after
the scan's own (`reviewed`, `reviewed_value`). `value` is never changed, so a spreadsheet shows
both. Every decision (and every decision cleared) is saved at once, atomically, so closing the
tab, Ctrl-C or SIGTERM loses nothing and the next review resumes with the fields still
undecided.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from digitize.errors import UsageError
from digitize.output import EntriesFile, read_entries, write_entries
from digitize.records import Entry, FieldResult, ReviewDecision, ReviewReason, ReviewStatus

ORDERS = ("confidence", "digit", "file")
VALUE_PATTERN = re.compile(r"[0-9]{0,64}")  # a field holds digits only; empty = a blank field

# What each reason code means to the person looking at the field (LOW_CONFIDENCE is told
# with the digit and the scan's own threshold, see `why_flagged`).
REASON_TEXT = {
    ReviewReason.SEGMENTATION: "the ink may be cut into digits wrongly (one digit or two)",
    ReviewReason.BORDER_TOUCH: "ink runs into the box border: part of a digit may be cut off",
    ReviewReason.INK_LEFT_OVER: "ink inside the box did not become digits",
    ReviewReason.FAINT_INK: "the ink is too faint to read with confidence",
    ReviewReason.NOT_DIGITS: "there are marks that are not digits (letters, fillers, print)",
    ReviewReason.VALIDATION: "the value breaks a rule of its field (check digit, range)",
    ReviewReason.NOT_FOUND: "the template's box was not found on the page",
    ReviewReason.TEMPLATE_MISMATCH: "the page does not look like the template's form",
    ReviewReason.NO_BOX: "handwriting outside every box found: is a box missed?",
}


class ReviewError(UsageError):
    """The entries CSV (or a corrections CSV) cannot be used; the message is one line."""


@dataclass(frozen=True)
class Item:
    """One field as the review page shows it."""

    row: int  # index into the CSV's rows: the only way the page addresses a field
    file: str
    page: int
    field: str
    label: str  # the field's printed label or template name ("" when none was read)
    value: str
    confidence: float
    digits: list[tuple[str, float]]  # (predicted digit, its confidence)
    group: str  # predicted digit of the least certain digit ("" when there are no digits)
    why: str  # why the scan flagged it, from its review_reasons ("" when not flagged)
    review_below: float  # the scan's threshold: chips below it are shown as doubtful
    reviewed: str  # "" (undecided), or a ReviewStatus value
    reviewed_value: str

    def as_json(self) -> dict:
        data = asdict(self)
        data["digits"] = [{"digit": d, "confidence": c} for d, c in self.digits]
        return data


class ReviewStore:
    """The entries of one CSV and the decisions on them; safe to use from several threads."""

    def __init__(
        self,
        path: Path,
        entries: list[Entry],
        columns: list[str] | None = None,
        review_all: bool = False,
    ):
        self.path = Path(path)
        self.entries = entries
        self.columns = columns  # as read, so other tools' columns keep their place
        self.review_all = review_all
        self.decisions = 0  # made through the page (this session)
        self.cleared = 0  # decisions set back to undecided (this session)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, review_all: bool = False) -> ReviewStore:
        """CsvError (a UsageError, one line) when the file is not an entries CSV."""
        file: EntriesFile = read_entries(Path(path))
        return cls(Path(path), file.entries, file.columns, review_all)

    # --- what to review --------------------------------------------------------------------

    def in_review(self, row: int) -> bool:
        """Whether the page may show (and decide) this row: flagged, or any with --all."""
        if not 0 <= row < len(self.entries):
            return False
        return self.review_all or self.entries[row].result.needs_review

    def review_rows(self) -> list[int]:
        return [index for index in range(len(self.entries)) if self.in_review(index)]

    def counts(self) -> tuple[int, int]:
        """(reviewed, total) among the fields to review."""
        rows = self.review_rows()
        return sum(self.entries[i].decision is not None for i in rows), len(rows)

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
        entry = self.entries[index]
        result, decision = entry.result, entry.decision
        digits = list(zip(result.value, result.digit_confidences))
        least_certain = min(digits, key=lambda pair: pair[1])[0] if digits else ""
        return Item(
            row=index,
            file=result.file,
            page=result.page,
            field=result.field,
            label=result.label,
            value=result.value,
            confidence=result.confidence,
            digits=digits,
            group=least_certain,
            why=why_flagged(result),
            review_below=result.review_below,
            reviewed=str(decision.status) if decision else "",
            reviewed_value=decision.value if decision else "",
        )

    # --- decisions -------------------------------------------------------------------------

    def decide(self, index: int, value: str | None) -> Item:
        """Record a decision from the review page (a new one or a changed one) and save the
        CSV at once. `value` is what the person confirmed (digits); None marks it illegible."""
        if not self.in_review(index):
            raise KeyError(index)
        decision = decision_for(self.entries[index].result, value)
        item = self._change(index, decision)
        self.decisions += 1
        return item

    def clear(self, index: int) -> Item:
        """Set a field back to undecided (a decision reopened in the page) and save at once."""
        if not self.in_review(index):
            raise KeyError(index)
        item = self._change(index, None)
        self.cleared += 1
        return item

    def _change(self, index: int, decision: ReviewDecision | None) -> Item:
        with self._lock:
            before = self.entries[index]
            self.entries[index] = replace(before, decision=decision)
            try:
                self.save()
            except BaseException:
                self.entries[index] = before  # what the page shows must match the file
                raise
            return self.item(index)

    def record(self, index: int, value: str | None) -> ReviewStatus:
        """Set one row's decision in memory (any row; `save` writes it). Returns the status."""
        decision = decision_for(self.entries[index].result, value)
        with self._lock:
            self.entries[index] = replace(self.entries[index], decision=decision)
        return decision.status

    def save(self) -> None:
        """Rewrite the CSV atomically with the decisions (`value` and other columns untouched)."""
        write_entries(self.entries, self.path, self.columns)

    def labelled(self) -> list[Entry]:
        """Entries whose digits a person confirmed: the ones that can teach the model."""
        return [e for e in self.entries if e.decision is not None and e.decision.labels_digits]


def decision_for(result: FieldResult, value: str | None) -> ReviewDecision:
    """The decision a confirmed value means: accepted when it is the value read, corrected
    otherwise; None is illegible. ValueError for anything but digits."""
    if value is None:
        return ReviewDecision(ReviewStatus.ILLEGIBLE, "")
    if not VALUE_PATTERN.fullmatch(value):
        raise ValueError("a value is digits only (at most 64)")
    status = ReviewStatus.ACCEPTED if value == result.value else ReviewStatus.CORRECTED
    return ReviewDecision(status, value)


def why_flagged(result: FieldResult) -> str:
    """Why the scan flagged a field, from its own review_reasons and review_below: the page
    must explain the threshold this scan used, not today's default."""
    if not result.reasons:
        return ""
    parts = []
    for reason in result.reasons:
        if reason is ReviewReason.LOW_CONFIDENCE:
            parts.append(_low_confidence(result))
        else:
            parts.append(REASON_TEXT.get(reason, str(reason)))
    text = "Flagged: " + "; ".join(parts)
    if result.review_notes:  # the rule broken or the repair made, in the scan's own words
        text += f" ({result.review_notes})"
    return text


def _low_confidence(result: FieldResult) -> str:
    digits = list(zip(result.value, result.digit_confidences))
    threshold = f"{result.review_below:g}"
    if not digits:
        return f"a digit is less sure than {threshold}"
    position, (digit, confidence) = min(enumerate(digits, 1), key=lambda pair: pair[1][1])
    return (
        f"digit {position}, read as {digit}, is {_percent(confidence, result.review_below)}"
        f" sure (below {threshold})"
    )


def _percent(share: float, below: float) -> str:
    """`share` as a percent, with as many decimals as it takes to be seen below `below`
    (0.9895 is "98.95%", never "99%" next to "below 0.99")."""
    for decimals in range(4):
        text = f"{share:.{decimals}%}"
        if float(text[:-1]) / 100 < below:
            return text
    return f"{share:.4%}"
